-- $1 user: destroys the user's data key (erasure).
DELETE FROM user_keys WHERE user_id = $1
