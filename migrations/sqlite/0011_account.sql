-- The account page (src/web/account, src/store/account.rs).
--   web_sessions: one row per logged-in browser. Only the SHA-256 of the
--   session cookie's token is stored; csrf is the token every form of the
--   session carries. A session ends at expires_at (absolute) or after
--   the idle timeout since last_seen (updated at most once a minute).
CREATE TABLE web_sessions (
    token_hash   BLOB  PRIMARY KEY,
    principal_id BIGINT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
    csrf         TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen    BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX web_sessions_principal ON web_sessions (principal_id);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);
--   app_passwords: one per device. The password handed out is
--   "ID-SECRET"; only an argon2id hash of SECRET is stored. last_used_at is
--   updated at most once a minute.
CREATE TABLE app_passwords (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    principal_id BIGINT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
    name         TEXT   NOT NULL,
    hash         TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX app_passwords_principal ON app_passwords (principal_id);
--   oidc_logins: OpenID Connect logins under way, by the SHA-256 of their
--   state; the nonce and the PKCE verifier the callback needs (any server
--   process may receive it). Taken (deleted) by the callback.
CREATE TABLE oidc_logins (
    state_hash   BLOB  PRIMARY KEY,
    nonce        TEXT   NOT NULL,
    pkce_verifier TEXT  NOT NULL,
    expires_at   BIGINT NOT NULL
);
