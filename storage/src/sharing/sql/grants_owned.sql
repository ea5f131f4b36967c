-- $1 owner, $2 days: the owner's grants, newest first; one that ended (revoked, or past its
-- expiry) more than $2 days ago is no longer shown.
SELECT * FROM share_grants_read
WHERE user_id = $1
  AND least(coalesce(revoked_at, 'infinity'), expires_at) > now() - make_interval(days => $2)
ORDER BY granted_at DESC, share_id
