-- Imports of exported health data (Apple Health, third-party APIs), run in the background by
-- the gateway or the command line. Gateway state about a user, not a projection: the samples
-- an import reads go through the event log like any sync. Goes with the account.
CREATE TABLE IF NOT EXISTS imports (
    import_id     uuid        PRIMARY KEY,
    user_id       uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The connector's name: apple-health, fitbit, google-fit, withings, ihealth.
    source        text        NOT NULL,
    -- Who started it: api (an upload) or cli (an operator's command).
    origin        text        NOT NULL CHECK (origin IN ('api', 'cli')),
    status        text        NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    -- reading (the file), processing (waiting for the processor to apply what was read).
    phase         text        NOT NULL DEFAULT 'reading',
    error         text,
    bytes_total   bigint,
    bytes_read    bigint      NOT NULL DEFAULT 0,
    records       bigint      NOT NULL DEFAULT 0,
    -- The report (counts, devices, per-type totals), once finished.
    report        jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- Moved by the running import at least every few seconds: a running import whose
    -- heartbeat stopped was interrupted (its process ended) and is marked failed.
    heartbeat_at  timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);
-- One running import per user.
CREATE UNIQUE INDEX IF NOT EXISTS imports_one_running_idx ON imports (user_id)
    WHERE status = 'running';
CREATE INDEX IF NOT EXISTS imports_user_idx ON imports (user_id, created_at DESC);
