-- Retention and the warm tier (see domain/src/retention.rs for the horizons, and the README,
-- "Operations").

-- `healthpipe retention` removes the tombstones of samples past the raw-data horizon; only
-- tombstones are indexed, so the index stays small and sample writes do not maintain it.
CREATE INDEX IF NOT EXISTS sample_index_tombstones_idx
    ON sample_index (end_time) WHERE deleted;

-- Expired sessions are removed by `healthpipe retention`.
CREATE INDEX IF NOT EXISTS sessions_expires_idx ON sessions (expires_at);

-- Share grants past their end are found by retention without reading every grant.
CREATE INDEX IF NOT EXISTS share_grants_ended_idx
    ON share_grants ((least(expires_at, coalesce(revoked_at, 'infinity'::timestamptz))));

CREATE INDEX IF NOT EXISTS insights_updated_idx ON insights (updated_at);

-- The warm tier, where TimescaleDB's community (Timescale-licensed) edition runs: sample and
-- aggregate chunks older than 90 days are compressed, segmented by user and type (the reads
-- filter on both). The Apache edition refuses compression; `healthpipe migrate` and
-- `healthpipe retention` say so once when they start.
DO $$
BEGIN
    IF current_setting('timescaledb.license', true) = 'timescale' THEN
        PERFORM remove_compression_policy('samples', if_exists => true);
        PERFORM add_compression_policy('samples', interval '90 days', if_not_exists => true);
        ALTER TABLE aggregates SET (timescaledb.compress,
                                    timescaledb.compress_segmentby = 'user_id, sample_type',
                                    timescaledb.compress_orderby = 'period, period_start');
        PERFORM add_compression_policy('aggregates', interval '90 days', if_not_exists => true);
    END IF;
END
$$;
