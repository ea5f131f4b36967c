-- $1 and $2 a month: per sample type, the samples starting in it and the sum of their hashes
-- (numeric, as text), which changes when any of them is added, removed or changed. One scan
-- of the month's chunks.
SELECT sample_type, count(*), coalesce(sum(archive_sample_hash(s)), 0)::text
FROM samples s
WHERE start_time >= $1 AND start_time < $2
GROUP BY sample_type
