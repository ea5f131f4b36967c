SELECT request_hash, state, status, response
FROM idempotency_keys
WHERE user_id = $1 AND key_hash = $2
AND created_at >= now() - $3 * interval '1 millisecond'
