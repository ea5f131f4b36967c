-- $1 owner, $2 after this id, $3 limit: the records about the owner's data, oldest first.
SELECT id, at, share_id, owner_id, reader_id, link_id, recipient, sample_types, range_start,
       range_end, client, action, outcome, reason
FROM share_access
WHERE owner_id = $1 AND id > $2
ORDER BY id
LIMIT $3
