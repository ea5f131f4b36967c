-- $1 share, $2 owner: a revocation, before the processor applies its event.
INSERT INTO share_revocations (share_id, user_id) VALUES ($1, $2)
ON CONFLICT (share_id) DO NOTHING
