-- $1 user, $2 type, $3 and $4 the (start, id) after which the page starts, $5 limit: every
-- column of the user's samples of one type, in (start, id) order, for the user's own
-- export. The index (user_id, sample_type, start_time) answers it page by page.
SELECT sample_id, device_id, value, start_time, end_time, utc_offset_seconds, source_app,
       sync_identifier, sync_version, metadata, counted_fraction, details
FROM samples
WHERE user_id = $1 AND sample_type = $2 AND (start_time, sample_id) > ($3, $4)
ORDER BY start_time, sample_id
LIMIT $5
