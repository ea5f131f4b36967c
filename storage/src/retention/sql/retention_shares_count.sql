-- $1 horizon: share grants that ended (expired, or were revoked) before it.
SELECT count(*) FROM share_grants
WHERE least(expires_at, coalesce(revoked_at, 'infinity'::timestamptz)) < $1
