-- An expired row counts as absent, and so does an abandoned claim of the same request (its
-- owner died before settling it, and its lease $6 has run out).
UPDATE idempotency_keys
SET request_hash = $3, state = 'in_flight', claim_id = $4, status = NULL, response = NULL,
    created_at = now()
WHERE user_id = $1 AND key_hash = $2
AND (created_at < now() - $5 * interval '1 millisecond'
     OR (state = 'in_flight' AND request_hash = $3
         AND created_at < now() - $6 * interval '1 millisecond'))
