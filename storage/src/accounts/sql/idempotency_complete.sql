-- Only the claim's owner settles it: a claim taken over meanwhile is left alone.
UPDATE idempotency_keys SET state = 'completed', status = $4, response = $5
WHERE user_id = $1 AND key_hash = $2 AND claim_id = $3
