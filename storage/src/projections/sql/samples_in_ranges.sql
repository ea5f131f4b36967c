-- Every sample starting within each range, tagged with the range's index: one query for many
-- ranges, each one an index range scan.
SELECT w.i, s.sample_id, s.device_id, s.value, s.start_time, s.end_time
FROM unnest($1::int[], $2::uuid[], $3::text[], $4::timestamptz[], $5::timestamptz[]) AS w(i, u, t, f, e)
JOIN LATERAL (
    SELECT sample_id, device_id, value, start_time, end_time
    FROM samples
    WHERE user_id = w.u AND sample_type = w.t AND start_time >= w.f AND start_time < w.e
) s ON true
