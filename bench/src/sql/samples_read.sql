-- The stored raw samples, in the columns the processor writes (figure 2's baseline copies
-- them back).
SELECT user_id, sample_id, device_id, sample_type, value, start_time, end_time,
       utc_offset_seconds, source_app, sync_identifier, sync_version, metadata, details
FROM samples
