-- One type over [$3, $4): the stored samples of every device summed as they are (what adding
-- up the devices' numbers gives) and the deduplicated day buckets summed.
SELECT
    (SELECT coalesce(sum(value), 0) FROM samples
     WHERE user_id = $1 AND sample_type = $2 AND start_time >= $3 AND start_time < $4),
    (SELECT coalesce(sum(value), 0) FROM aggregates
     WHERE user_id = $1 AND sample_type = $2 AND period = 'day'
       AND period_start >= $3 AND period_start < $4)
