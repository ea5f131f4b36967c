-- A priority change carries no device type (''): the registered one is kept.
INSERT INTO device_rankings (user_id, device_id, device_type, priority, type_priorities)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::jsonb[])
ON CONFLICT (user_id, device_id) DO UPDATE SET
    priority = EXCLUDED.priority,
    type_priorities = EXCLUDED.type_priorities,
    device_type = CASE WHEN EXCLUDED.device_type = '' THEN device_rankings.device_type
                       ELSE EXCLUDED.device_type END
