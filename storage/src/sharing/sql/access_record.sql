INSERT INTO share_access (share_id, owner_id, reader_id, link_id, recipient, sample_types,
                          range_start, range_end, client, action, outcome, reason)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
