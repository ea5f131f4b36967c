-- A grant, once: a replay of the same event changes nothing.
INSERT INTO share_grants (share_id, user_id, recipient_email, sample_types, date_start,
                          date_end, expires_at, label, code_digest, granted_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (share_id) DO NOTHING
