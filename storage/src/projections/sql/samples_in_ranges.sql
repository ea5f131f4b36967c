-- Every sample starting within each range and ending at or after its end bound, tagged with
-- the range's index: one query for many ranges, each one an index range scan.
-- $7 and $8 bound every range's start times: a range's own bounds come from the array, so
-- they cannot exclude chunks, and each range would descend the index of every chunk of the
-- hypertable (a cost growing with history); against these two, only the chunks the ranges
-- reach are scanned.
SELECT w.i, s.sample_id, s.device_id, s.value, s.start_time, s.end_time
FROM unnest($1::int[], $2::uuid[], $3::text[], $4::timestamptz[], $5::timestamptz[],
            $6::timestamptz[]) AS w(i, u, t, f, e, ef)
JOIN LATERAL (
    SELECT sample_id, device_id, value, start_time, end_time
    FROM samples
    WHERE user_id = w.u AND sample_type = w.t AND start_time >= w.f AND start_time < w.e
      AND end_time >= w.ef AND start_time >= $7 AND start_time < $8
) s ON true
