-- The rule key, type and creation time of an insight never change; the rest is its latest
-- version.
INSERT INTO insights (user_id, insight_id, rule_key, insight_type, severity, status, direction,
                      message, recommendation, data, created_at, updated_at)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::text[], $9::text[], $10::jsonb[], $11::timestamptz[],
                     $12::timestamptz[])
ON CONFLICT (user_id, insight_id) DO UPDATE SET
    severity = EXCLUDED.severity,
    status = EXCLUDED.status,
    direction = EXCLUDED.direction,
    message = EXCLUDED.message,
    recommendation = EXCLUDED.recommendation,
    data = EXCLUDED.data,
    updated_at = EXCLUDED.updated_at
