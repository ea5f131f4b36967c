-- $1 current kek id, $2 after this user id, $3 limit: keys still wrapped by another key-
-- encryption key, in user order (rotation pages through them).
SELECT user_id, kek_id, wrapped FROM user_keys
WHERE kek_id <> $1 AND user_id > $2
ORDER BY user_id
LIMIT $3
