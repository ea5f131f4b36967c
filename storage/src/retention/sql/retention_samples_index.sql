-- $1 horizon: the index entries and sync versions of the samples ending on or before it
-- (found through the samples' old chunks, so the sample index is not scanned).
WITH gone AS (
    DELETE FROM sample_index i
    USING samples s
    WHERE s.start_time < $1 AND s.end_time <= $1
      AND i.user_id = s.user_id AND i.sample_id = s.sample_id
    RETURNING i.user_id, i.sample_id
), versions AS (
    DELETE FROM sync_versions v USING gone
    WHERE v.user_id = gone.user_id AND v.sample_id = gone.sample_id
)
SELECT count(*) FROM gone
