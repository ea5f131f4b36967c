-- The zone the processor buckets the user's aggregates in; the account's zone while the
-- processor has not yet projected the user's registration.
SELECT COALESCE(p.timezone, u.timezone)
FROM users u
LEFT JOIN user_profiles p ON p.user_id = u.id
WHERE u.id = $1
