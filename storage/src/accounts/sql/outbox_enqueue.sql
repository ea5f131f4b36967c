-- $1 user, $2 encoded event.
INSERT INTO event_outbox (user_id, payload) VALUES ($1, $2)
