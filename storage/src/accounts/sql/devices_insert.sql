-- A known identifier inserts nothing: a concurrent registration of the same device won.
INSERT INTO devices (id, user_id, device_type, device_name, device_identifier, priority, type_priorities)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (user_id, device_identifier) DO NOTHING
RETURNING id
