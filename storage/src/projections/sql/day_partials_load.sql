-- Every partial of a day starting within each range, tagged with the range's index and in
-- day order: one query for many ranges, each one a range scan of the primary key.
SELECT w.i, p.day_start, p.sum, p.whole_count, p.whole_min, p.whole_max, p.shared_ids,
       p.shared_amounts, p.counted_nanos, p.devices, p.latest_start, p.latest_id,
       p.latest_value
FROM unnest($1::int[], $2::uuid[], $3::text[], $4::timestamptz[], $5::timestamptz[]) AS w(i, u, t, f, e)
JOIN LATERAL (
    SELECT day_start, sum, whole_count, whole_min, whole_max, shared_ids, shared_amounts,
           counted_nanos, devices, latest_start, latest_id, latest_value
    FROM day_partials
    WHERE user_id = w.u AND sample_type = w.t AND day_start >= w.f AND day_start < w.e
) p ON true
ORDER BY w.i, p.day_start
