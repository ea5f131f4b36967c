-- $1 and $2 a month: per sample type, the aggregate rows whose period starts in it and the
-- sum of their hashes (numeric, as text). One scan of the month's chunks.
SELECT sample_type, count(*), coalesce(sum(archive_aggregate_hash(a)), 0)::text
FROM aggregates a
WHERE period_start >= $1 AND period_start < $2
GROUP BY sample_type
