SELECT sample_id, device_id, value, start_time, end_time, utc_offset_seconds, source_app,
       details
FROM samples
WHERE user_id = $1 AND sample_type = $2 AND start_time >= $3 AND start_time < $4
ORDER BY start_time, sample_id
LIMIT $5
