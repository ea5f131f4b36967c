-- $1 provider: the grants bound to that account, newest first.
SELECT * FROM share_grants_read WHERE redeemed_by = $1 ORDER BY granted_at DESC, share_id
