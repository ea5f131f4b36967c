-- One row per distinct schema, shared by every subject that registers it (global ids, as in
-- Confluent). `fingerprint` is the SHA-256 of `normalized`: a unique index on the text itself
-- would fail past PostgreSQL's ~2.7 kB btree row limit.
CREATE TABLE IF NOT EXISTS schemas (
    id          INTEGER     PRIMARY KEY,
    schema_type TEXT        NOT NULL DEFAULT 'AVRO',
    fingerprint BYTEA       NOT NULL UNIQUE,
    normalized  TEXT        NOT NULL,
    canonical   TEXT        NOT NULL,
    schema_text TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
)
