-- The day rows of every type in a range. `sample_type = ANY(all types)` lets the primary key
-- (user_id, sample_type, period, period_start) answer it as one range scan per type.
SELECT sample_type, period_start, value
FROM aggregates
WHERE user_id = $1 AND sample_type = ANY($2) AND period = 'day'
AND period_start >= $3 AND period_start <= $4
ORDER BY sample_type, period_start
