-- $1 instant: idempotency keys taken before it.
SELECT count(*) FROM idempotency_keys WHERE created_at < $1
