-- Entries Kafka acknowledged.
DELETE FROM event_outbox WHERE id = ANY($1)
