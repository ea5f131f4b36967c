-- Every sample of a type starting in a range, in no order: the input of a deduplication.
SELECT sample_id, device_id, value, start_time, end_time
FROM samples
WHERE user_id = $1 AND sample_type = $2 AND start_time >= $3 AND start_time < $4
LIMIT $5
