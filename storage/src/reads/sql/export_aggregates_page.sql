-- $1 user, $2 to $4 the (type, period, start) after which the page starts, $5 limit: the
-- user's aggregate rows in primary-key order, for the user's own export.
SELECT sample_type, period, period_start, value, min_value, max_value, sample_count,
       coverage, device_count
FROM aggregates
WHERE user_id = $1 AND (sample_type, period, period_start) > ($2, $3, $4)
ORDER BY sample_type, period, period_start
LIMIT $5
