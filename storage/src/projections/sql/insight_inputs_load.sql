-- Per user, the rows from a start time on, plus single day rows (older days a batch changes).
SELECT i.user_id, i.sample_type, i.period, i.period_start, i.value, i.min_value, i.max_value, i.sample_count
FROM unnest($1::uuid[], $2::timestamptz[]) AS w(u, s)
JOIN insight_inputs i ON i.user_id = w.u AND i.period_start >= w.s
UNION
SELECT i.user_id, i.sample_type, i.period, i.period_start, i.value, i.min_value, i.max_value, i.sample_count
FROM unnest($3::uuid[], $4::timestamptz[]) AS d(u, s)
JOIN insight_inputs i ON i.user_id = d.u AND i.period = 'day' AND i.period_start = d.s
