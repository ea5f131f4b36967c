-- Returns the rows it deletes, so the caller can tell which buckets really changed once the
-- new rows are written.
DELETE FROM aggregates a
USING unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[]) AS d(u, t, p, f, e)
WHERE a.user_id = d.u AND a.sample_type = d.t AND a.period = d.p
  AND a.period_start >= d.f AND a.period_start < d.e
RETURNING a.user_id, a.sample_type, a.period, a.period_start,
          a.value, a.min_value, a.max_value, a.sample_count
