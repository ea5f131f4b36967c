-- The user's pending events in the order they were written, locked until the transaction
-- ends, so two appenders of one user take turns and keep the order.
SELECT id, payload FROM event_outbox WHERE user_id = $1 ORDER BY id FOR UPDATE
