-- Stored samples of a user and type that reach into [$3, $4): what a recompute of those
-- buckets re-reads.
SELECT count(*)
FROM samples
WHERE user_id = $1 AND sample_type = $2
  AND start_time < $4 AND (end_time > $3 OR start_time >= $3)
