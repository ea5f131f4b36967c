UPDATE users SET name = $2, timezone = $3 WHERE id = $1
