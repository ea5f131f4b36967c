-- $1 horizon: samples ending on or before it (the rows `retention_samples_*` remove).
SELECT count(*) FROM samples WHERE start_time < $1 AND end_time <= $1
