-- $1 users: everything the insights projection holds about them (their erasure).
WITH a AS (DELETE FROM insight_acknowledgements WHERE user_id = ANY($1::uuid[])),
     n AS (DELETE FROM insight_inputs WHERE user_id = ANY($1::uuid[])),
     i AS (DELETE FROM insights WHERE user_id = ANY($1::uuid[]))
DELETE FROM insight_users WHERE user_id = ANY($1::uuid[])
