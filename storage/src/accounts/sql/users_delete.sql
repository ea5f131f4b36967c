-- $1 user: the account; its sessions, devices and idempotency records go with it (ON DELETE
-- CASCADE), as do its pending outbox events.
WITH o AS (DELETE FROM event_outbox WHERE user_id = $1)
DELETE FROM users WHERE id = $1
