SELECT user_id, insight_id, rule_key, insight_type, severity, direction, message, recommendation,
       data, created_at, updated_at
FROM insights
WHERE user_id = ANY($1) AND status = 'active'
