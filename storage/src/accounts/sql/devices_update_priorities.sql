UPDATE devices SET priority = $3, type_priorities = $4 WHERE id = $1 AND user_id = $2
