-- Failed sign-ins, shared by every gateway replica, so N replicas do not give N times the
-- guesses. One row per (account, client address) and one per account (address = ''); both
-- keys are SHA-256 digests, so neither a typed email nor an address is stored, and any
-- length hashes to 32 bytes. Attempts are counted before the password is checked (a
-- success deletes the rows), so parallel guesses cannot outrun the count. Rows idle for a
-- day are purged by later sign-ins.
CREATE TABLE IF NOT EXISTS login_failures (
    account        bytea       NOT NULL,        -- SHA-256 of the lower-cased email
    address        bytea       NOT NULL,        -- SHA-256 of the client address; '' for the account
    failures       integer     NOT NULL,
    blocked_until  timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account, address)
);
CREATE INDEX IF NOT EXISTS login_failures_updated_idx ON login_failures (updated_at);
