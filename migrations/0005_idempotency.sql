-- Idempotency keys of the gateway's appending endpoints (sync, sample deletion), so a client
-- retrying a request it never saw the answer to gets that answer instead of a second append.
-- Scoped per user; the key itself is never stored, only its SHA-256. A row is `in_flight` from
-- the claim until the answer is stored (`completed`); a failure that appended nothing deletes
-- it. Rows older than 24 hours count as absent and are purged by later claims.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    user_id        uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key_hash       bytea       NOT NULL,        -- SHA-256 of the client's key (or the derived one)
    request_hash   bytea       NOT NULL,        -- SHA-256 of method, path and body
    state          text        NOT NULL CHECK (state IN ('in_flight', 'completed')),
    claim_id       uuid        NOT NULL,        -- which request holds the claim
    status         smallint,                    -- the stored answer, once completed
    response       bytea,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key_hash),
    CHECK (state = 'in_flight' OR (status IS NOT NULL AND response IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created_idx ON idempotency_keys (created_at);
