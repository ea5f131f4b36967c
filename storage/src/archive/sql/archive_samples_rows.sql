-- $1 type, $2 and $3 a month: every column of its samples, in the archive's key order (user,
-- start, id), read through a portal batch by batch.
SELECT user_id, sample_id, device_id, start_time, end_time, utc_offset_seconds, value,
       counted_fraction, source_app, sync_identifier, sync_version, metadata, details
FROM samples
WHERE sample_type = $1 AND start_time >= $2 AND start_time < $3
ORDER BY user_id, start_time, sample_id
