-- $1 horizon: tombstones (deleted samples) ending on or before it, and their sync versions.
WITH gone AS (
    DELETE FROM sample_index WHERE deleted AND end_time <= $1
    RETURNING user_id, sample_id
), versions AS (
    DELETE FROM sync_versions v USING gone
    WHERE v.user_id = gone.user_id AND v.sample_id = gone.sample_id
)
SELECT count(*) FROM gone
