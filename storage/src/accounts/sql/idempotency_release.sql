DELETE FROM idempotency_keys
WHERE user_id = $1 AND key_hash = $2 AND claim_id = $3 AND state = 'in_flight'
