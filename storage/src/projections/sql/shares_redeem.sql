-- $1 share, $2 provider, $3 time: the first redemption in the log binds the grant.
UPDATE share_grants SET redeemed_by = $2, redeemed_at = $3
WHERE share_id = $1 AND redeemed_by IS NULL
