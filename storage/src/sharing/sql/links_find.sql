-- $1 manifest id.
SELECT link_id, manifest_id, share_id, user_id, label, passcode_hash, attempts_left, jwe,
       expires_at
FROM share_links
WHERE manifest_id = $1
