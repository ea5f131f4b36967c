SELECT user_id, timezone, evaluated_at FROM insight_users WHERE user_id = ANY($1)
