-- Run as one simple-query script (it has three statements): no statement timeout for this
-- session (the pool's applies to services; a migration on a large table may run for long),
-- the extension every projection needs, and the ledger of applied migrations.
SET statement_timeout = 0;
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE TABLE IF NOT EXISTS schema_migrations (
    name        text PRIMARY KEY,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
