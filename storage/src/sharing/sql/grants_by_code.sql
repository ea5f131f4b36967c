-- $1 SHA-256 of an access code (hex).
SELECT * FROM share_grants_read WHERE code_digest = $1
