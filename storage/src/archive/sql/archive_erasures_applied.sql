-- $1 users, $2 when each was requested: erasures the archive applied. An erasure requested
-- again since (a replay of the log) has another time and stays.
DELETE FROM archive_erasures e
USING unnest($1::uuid[], $2::timestamptz[]) AS d(user_id, requested_at)
WHERE e.user_id = d.user_id AND e.requested_at = d.requested_at
