-- Every partial of a day starting within each range, tagged with the range's index and in
-- day order: one query for many ranges, each one a range scan of the primary key.
SELECT w.i, p.partial
FROM unnest($1::int[], $2::uuid[], $3::text[], $4::timestamptz[], $5::timestamptz[]) AS w(i, u, t, f, e)
JOIN LATERAL (
    SELECT day_start, partial
    FROM day_partials
    WHERE user_id = w.u AND sample_type = w.t AND day_start >= w.f AND day_start < w.e
) p ON true
ORDER BY w.i, p.day_start
