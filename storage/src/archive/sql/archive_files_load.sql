-- $1 relation, $2 type, $3 month: the partition's files, in part order.
SELECT path, part, row_count, bytes, sha256
FROM archive_files
WHERE relation = $1 AND sample_type = $2 AND month = $3
ORDER BY part
