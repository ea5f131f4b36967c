-- A taken key inserts nothing; the caller then looks at the row that holds it.
INSERT INTO idempotency_keys (user_id, key_hash, request_hash, state, claim_id)
VALUES ($1, $2, $3, 'in_flight', $4)
ON CONFLICT DO NOTHING
