-- $1 user, $2 kek id, $3 wrapped key. An existing key wins (a concurrent first use).
INSERT INTO user_keys (user_id, kek_id, wrapped) VALUES ($1, $2, $3)
ON CONFLICT (user_id) DO NOTHING
