-- $1 relation, $2 type, $3 month: the partition's time ranges (chunk name, or none if cold).
SELECT range_start, range_end, chunk
FROM archive_segments
WHERE relation = $1 AND sample_type = $2 AND month = $3
ORDER BY range_start, range_end
