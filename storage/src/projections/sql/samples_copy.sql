COPY samples (user_id, sample_id, device_id, sample_type, value, start_time, end_time,
              utc_offset_seconds, source_app, sync_identifier, sync_version, metadata, details)
FROM STDIN BINARY
