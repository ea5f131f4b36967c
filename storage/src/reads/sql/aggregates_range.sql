SELECT period_start, value, min_value, max_value, sample_count, coverage, device_count
FROM aggregates
WHERE user_id = $1 AND sample_type = $2 AND period = $3
AND period_start >= $4 AND period_start < $5
ORDER BY period_start
