SELECT i.user_id, i.sample_id, i.sample_type, i.start_time, i.end_time, i.deleted
FROM sample_index i
JOIN unnest($1::uuid[], $2::uuid[]) AS k(u, s) ON i.user_id = k.u AND i.sample_id = k.s
