-- Figure 2's baseline: the rows the processor writes, by binary COPY.
COPY samples (user_id, sample_id, device_id, sample_type, value, start_time, end_time,
              utc_offset_seconds, source_app, sync_identifier, sync_version, metadata)
FROM STDIN (FORMAT binary)
