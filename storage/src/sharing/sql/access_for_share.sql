-- $1 share, $2 limit.
SELECT at, share_id, owner_id, reader_id, link_id, recipient, sample_types, range_start, range_end, client,
       action, outcome, reason
FROM share_access
WHERE share_id = $1
ORDER BY at DESC, id DESC
LIMIT $2
