-- Events of account and device changes, written in the same transaction as the rows they
-- describe, and deleted once Kafka acknowledged them: a change is never in the database
-- without its event reaching the log, nor in the log for a row that was never committed.
-- The request that made the change appends its user's entries at once; entries left by a
-- request that could not reach Kafka are appended by the gateway's relay. Payloads are the
-- encoded events (Confluent wire format), so the relay needs no registry.
CREATE TABLE IF NOT EXISTS event_outbox (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     uuid        NOT NULL,
    payload     bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS event_outbox_user_idx ON event_outbox (user_id, id);
