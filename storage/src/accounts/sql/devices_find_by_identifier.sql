SELECT id, device_type, device_name, device_identifier, priority, type_priorities
FROM devices
WHERE user_id = $1 AND device_identifier = $2
