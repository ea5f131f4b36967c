-- $1 horizon: the (sample type, UTC month of the start) of every sample retention would remove.
SELECT DISTINCT sample_type, date_trunc('month', start_time AT TIME ZONE 'UTC')::date
FROM samples
WHERE start_time < $1 AND end_time <= $1
