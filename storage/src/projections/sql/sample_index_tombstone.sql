-- Stored entries are never removed, only marked: a re-sent deleted sample stays deleted.
UPDATE sample_index i SET deleted = true
FROM unnest($1::uuid[], $2::uuid[]) AS d(u, id)
WHERE i.user_id = d.u AND i.sample_id = d.id
