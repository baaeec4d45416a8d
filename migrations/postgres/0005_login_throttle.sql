-- Login throttling (src/auth/throttle.rs), shared by every server process.
--   login_failures   one row per failed login: the account tried (folded
--                    to lower case), the client address (an IPv6 address
--                    by its /64) and when. Read over the failure window,
--                    deleted after it.
--   login_successes  the last successful login of an account from an
--                    address; exempts that account from the address's own
--                    throttling (a sprayer at a shared address does not
--                    lock out the people who work there). Forgotten after
--                    some days.
CREATE TABLE login_failures (
    account  TEXT NOT NULL,
    address  TEXT NOT NULL,
    at       BIGINT NOT NULL
);
CREATE INDEX login_failures_pair_idx ON login_failures(account, address, at);
CREATE INDEX login_failures_address_idx ON login_failures(address, at);
CREATE INDEX login_failures_at_idx ON login_failures(at);

CREATE TABLE login_successes (
    account  TEXT NOT NULL,
    address  TEXT NOT NULL,
    at       BIGINT NOT NULL,
    PRIMARY KEY (account, address)
);
CREATE INDEX login_successes_at_idx ON login_successes(at);
