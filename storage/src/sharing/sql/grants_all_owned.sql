-- $1 owner: every grant, ended or not, oldest first.
SELECT * FROM share_grants_read WHERE user_id = $1 ORDER BY granted_at, share_id
