-- Every authenticated request runs this one: a primary-key read joined to its user.
SELECT u.id, u.role
FROM sessions s JOIN users u ON u.id = s.user_id
WHERE s.token_hash = $1 AND s.expires_at > now()
