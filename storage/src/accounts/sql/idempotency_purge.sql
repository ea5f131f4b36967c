-- A bounded batch of expired keys per claim; rows another claim holds are skipped, not
-- waited for.
DELETE FROM idempotency_keys
WHERE (user_id, key_hash) IN (
    SELECT user_id, key_hash FROM idempotency_keys
    WHERE created_at < now() - $1 * interval '1 millisecond'
    ORDER BY created_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED)
AND created_at < now() - $1 * interval '1 millisecond'
