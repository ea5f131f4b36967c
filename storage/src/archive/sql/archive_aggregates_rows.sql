-- $1 type, $2 and $3 a month: every column of its aggregate rows, in the archive's key order
-- (user, period, start; the period compared byte by byte, as the archive compares it), read
-- through a portal batch by batch.
SELECT user_id, period, period_start, value, min_value, max_value, sample_count, coverage,
       device_count
FROM aggregates
WHERE sample_type = $1 AND period_start >= $2 AND period_start < $3
ORDER BY user_id, period COLLATE "C", period_start
