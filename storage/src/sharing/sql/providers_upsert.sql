-- $1 user (role provider), $2 organisation.
INSERT INTO providers (user_id, organisation) VALUES ($1, $2)
ON CONFLICT (user_id) DO UPDATE SET organisation = EXCLUDED.organisation, verified_at = now()
