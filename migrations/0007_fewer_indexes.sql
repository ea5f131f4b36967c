-- Every read of `samples` and `aggregates` names the user (and the type), so the indexes
-- below served no query and only made every write slower:
-- - the time-only indexes TimescaleDB creates by default on a hypertable;
-- - (user_id, sample_type, start_time DESC), superseded by 0006's
--   (user_id, sample_type, start_time, sample_id), which PostgreSQL scans in either direction.
DROP INDEX IF EXISTS samples_start_time_idx;
DROP INDEX IF EXISTS samples_user_type_time_idx;
DROP INDEX IF EXISTS aggregates_period_start_idx;
