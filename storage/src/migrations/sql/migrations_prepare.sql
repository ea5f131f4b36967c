-- Run as one simple-query script (it has two statements): the extension every projection
-- needs, and the ledger of applied migrations.
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE TABLE IF NOT EXISTS schema_migrations (
    name        text PRIMARY KEY,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
