-- $1 share.
SELECT * FROM share_grants_read WHERE share_id = $1
