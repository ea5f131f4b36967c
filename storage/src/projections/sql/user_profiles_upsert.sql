INSERT INTO user_profiles (user_id, timezone)
SELECT * FROM unnest($1::uuid[], $2::text[])
ON CONFLICT (user_id) DO UPDATE SET timezone = EXCLUDED.timezone
