SELECT id, email, name, timezone, role FROM users WHERE id = $1
