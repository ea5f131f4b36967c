-- Per user and type, the span of the stored samples of a whole user (device NULL) or of one
-- of their devices.
SELECT t.u, s.sample_type, min(s.start_time), max(s.end_time)
FROM unnest($1::uuid[], $2::uuid[]) AS t(u, d)
JOIN samples s ON s.user_id = t.u AND (t.d IS NULL OR s.device_id = t.d)
GROUP BY t.u, s.sample_type
