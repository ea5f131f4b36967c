-- The archived partitions of `aggregates` whose files hold every row the hot tier holds now
-- (see archive_current_samples.sql).
SELECT m.sample_type, m.month
FROM archive_months m
CROSS JOIN LATERAL (
    SELECT count(*) AS n, coalesce(sum(archive_aggregate_hash(a)), 0) AS fingerprint
    FROM aggregates a
    WHERE a.sample_type = m.sample_type
      AND a.period_start >= (m.month::timestamp AT TIME ZONE 'UTC')
      AND a.period_start < ((m.month + interval '1 month') AT TIME ZONE 'UTC')
) hot
WHERE m.relation = 'aggregates'
  AND hot.n = m.source_rows AND hot.fingerprint = m.source_fingerprint
ORDER BY m.sample_type, m.month
