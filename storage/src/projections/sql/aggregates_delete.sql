-- Returns the rows it deletes, so the caller can tell which buckets really changed once the
-- new rows are written. $6 and $7 bound every range (the earliest start, the latest end):
-- the ranges' own bounds come from the array and exclude no chunk, these two do.
DELETE FROM aggregates a
USING unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[]) AS d(u, t, p, f, e)
WHERE a.user_id = d.u AND a.sample_type = d.t AND a.period = d.p
  AND a.period_start >= d.f AND a.period_start < d.e
  AND a.period_start >= $6 AND a.period_start < $7
RETURNING a.user_id, a.sample_type, a.period, a.period_start,
          a.value, a.min_value, a.max_value, a.sample_count
