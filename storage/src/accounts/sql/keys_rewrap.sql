-- $1 user, $2 the kek id it was read with, $3 new kek id, $4 new wrapping. Only if nobody
-- changed or deleted it meanwhile (an erasure during rotation stays an erasure).
UPDATE user_keys SET kek_id = $3, wrapped = $4 WHERE user_id = $1 AND kek_id = $2
