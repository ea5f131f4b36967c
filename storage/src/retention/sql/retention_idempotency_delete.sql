-- $1 instant: idempotency keys taken before it.
DELETE FROM idempotency_keys WHERE created_at < $1
