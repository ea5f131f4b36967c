SELECT user_id, device_id, priority, type_priorities FROM device_rankings WHERE user_id = ANY($1)
