-- A session per bench user, stored as the gateway stores tokens: their SHA-256.
INSERT INTO sessions (token_hash, user_id, expires_at)
SELECT sha256(convert_to(t, 'UTF8')), u, now() + interval '2 days'
FROM unnest($1::text[], $2::uuid[]) AS s(t, u)
