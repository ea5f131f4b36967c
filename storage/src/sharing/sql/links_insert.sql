INSERT INTO share_links (link_id, manifest_id, share_id, user_id, label, passcode_hash,
                         attempts_left, jwe, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
