-- Bench users, thousands per statement; they never sign in, so the hash is a placeholder.
INSERT INTO users (id, email, password_hash, name, timezone)
SELECT u, e, '$bench$no-password$', 'Bench User', z
FROM unnest($1::uuid[], $2::text[], $3::text[]) AS t(u, e, z)
