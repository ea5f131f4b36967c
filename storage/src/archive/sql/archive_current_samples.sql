-- The archived partitions of `samples` whose files hold every row the hot tier holds now:
-- the recorded fingerprint equals the one of the month's rows in the database (none left
-- counts: the month's chunks are gone). One scan of every archived month still in the hot
-- tier.
SELECT m.sample_type, m.month
FROM archive_months m
CROSS JOIN LATERAL (
    SELECT count(*) AS n, coalesce(sum(archive_sample_hash(s)), 0) AS fingerprint
    FROM samples s
    WHERE s.sample_type = m.sample_type
      AND s.start_time >= (m.month::timestamp AT TIME ZONE 'UTC')
      AND s.start_time < ((m.month + interval '1 month') AT TIME ZONE 'UTC')
) hot
WHERE m.relation = 'samples'
  AND hot.n = m.source_rows AND hot.fingerprint = m.source_fingerprint
ORDER BY m.sample_type, m.month
