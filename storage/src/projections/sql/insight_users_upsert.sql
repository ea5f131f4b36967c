-- The evaluation time never goes back.
INSERT INTO insight_users (user_id, timezone, evaluated_at)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[])
ON CONFLICT (user_id) DO UPDATE SET
    timezone = EXCLUDED.timezone,
    evaluated_at = GREATEST(insight_users.evaluated_at, EXCLUDED.evaluated_at)
