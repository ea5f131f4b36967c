-- The start time is part of the key: it lets the hypertable prune to one chunk per sample.
DELETE FROM samples s
USING unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS d(u, id, t)
WHERE s.user_id = d.u AND s.sample_id = d.id AND s.start_time = d.t
