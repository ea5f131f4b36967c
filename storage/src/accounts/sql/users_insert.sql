-- A taken email inserts nothing: the caller learns it from the missing row, not from a
-- unique violation.
INSERT INTO users (id, email, password_hash, name, timezone, role)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (email) DO NOTHING
RETURNING id
