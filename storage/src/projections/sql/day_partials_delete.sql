-- The days starting within each range: a recomputation replaces them with binary COPY next.
DELETE FROM day_partials p
USING unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::timestamptz[]) AS d(u, t, f, e)
WHERE p.user_id = d.u AND p.sample_type = d.t AND p.day_start >= d.f AND p.day_start < d.e
