-- $1 users: those whose account exists and has no data key yet (older than encryption),
-- their account rows held (FOR SHARE) until the caller commits: an erasure running at the
-- same time deletes the account first and its key after, so either it finished before
-- (the account is not returned) or it waits and then deletes the key made here.
SELECT u.id
FROM users u
WHERE u.id = ANY($1)
  AND NOT EXISTS (SELECT 1 FROM user_keys k WHERE k.user_id = u.id)
FOR SHARE OF u
