INSERT INTO config (subject, compatibility) VALUES ($1, $2)
ON CONFLICT (subject) DO UPDATE SET compatibility = EXCLUDED.compatibility
