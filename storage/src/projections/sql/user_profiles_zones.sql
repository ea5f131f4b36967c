SELECT user_id, timezone FROM user_profiles WHERE user_id = ANY($1)
