-- $1 relation, $2 type, $3 month: the partition's recorded fingerprint, if it is archived.
SELECT source_rows, source_fingerprint::text
FROM archive_months
WHERE relation = $1 AND sample_type = $2 AND month = $3
