-- The expiry sweeps of the account page's tables read by index, not by a
-- scan in the writer: OpenID Connect logins under way (deleted when
-- expired at each callback) and sessions idle too long (swept at logins).
CREATE INDEX oidc_logins_expiry ON oidc_logins (expires_at);
CREATE INDEX web_sessions_last_seen ON web_sessions (last_seen);
