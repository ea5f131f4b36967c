-- $1 provider: the grants bound to that account, newest first.
SELECT g.share_id, g.user_id, g.recipient_email, g.sample_types, g.date_start, g.date_end,
       g.expires_at, g.label, g.granted_at, g.redeemed_by, g.redeemed_at,
       coalesce(g.revoked_at, r.revoked_at) AS revoked_at,
       (SELECT max(a.at) FROM share_access a
        WHERE a.share_id = g.share_id AND a.outcome = 'allowed') AS last_access
FROM share_grants g
LEFT JOIN share_revocations r ON r.share_id = g.share_id
WHERE g.redeemed_by = $1
ORDER BY g.granted_at DESC, g.share_id
