-- Every sample starting within each range and ending at or after its end bound, tagged with
-- the range's index: one query for many ranges, each one an index range scan.
SELECT w.i, s.sample_id, s.device_id, s.value, s.start_time, s.end_time
FROM unnest($1::int[], $2::uuid[], $3::text[], $4::timestamptz[], $5::timestamptz[],
            $6::timestamptz[]) AS w(i, u, t, f, e, ef)
JOIN LATERAL (
    SELECT sample_id, device_id, value, start_time, end_time
    FROM samples
    WHERE user_id = w.u AND sample_type = w.t AND start_time >= w.f AND start_time < w.e
      AND end_time >= w.ef
) s ON true
