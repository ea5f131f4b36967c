-- $1 share, $2 time: the first revocation in the log counts.
UPDATE share_grants SET revoked_at = $2
WHERE share_id = $1 AND revoked_at IS NULL
