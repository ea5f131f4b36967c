-- Every authenticated request runs this one: a primary-key read joined to its user, and the
-- zone the user's aggregates are bucketed in, which every read of them needs.
SELECT u.id, u.role, z.timezone
FROM sessions s
JOIN users u ON u.id = s.user_id
JOIN bucket_zones z ON z.user_id = u.id
WHERE s.token_hash = $1 AND s.expires_at > now()
