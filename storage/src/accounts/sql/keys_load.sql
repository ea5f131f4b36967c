-- $1 users: the wrapped keys of those that have one.
SELECT user_id, kek_id, wrapped FROM user_keys WHERE user_id = ANY($1::uuid[])
