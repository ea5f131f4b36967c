DELETE FROM insight_inputs i
USING unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[]) AS d(u, t, p, s)
WHERE i.user_id = d.u AND i.sample_type = d.t AND i.period = d.p AND i.period_start = d.s
