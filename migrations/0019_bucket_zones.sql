-- The zone each user's aggregates are bucketed in: the one the aggregation processor
-- projected into `user_profiles` from the user's events, or the account's zone while the
-- processor has not projected the registration yet (such a user has no aggregates either).
-- One definition, read by the session lookup (every authenticated request gets the caller's
-- zone with its session, without a second round trip) and by the reads of a share's owner.
CREATE OR REPLACE VIEW bucket_zones AS
SELECT u.id AS user_id, COALESCE(p.timezone, u.timezone) AS timezone
FROM users u
LEFT JOIN user_profiles p ON p.user_id = u.id;
