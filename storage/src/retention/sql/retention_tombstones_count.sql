-- $1 horizon: tombstones ending on or before it.
SELECT count(*) FROM sample_index WHERE deleted AND end_time <= $1
