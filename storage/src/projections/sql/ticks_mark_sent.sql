UPDATE insight_users u SET tick_sent = d.day
FROM unnest($1::uuid[], $2::date[]) AS d(u, day)
WHERE u.user_id = d.u
