-- Long histories written as the gateway would have validated them, bypassing the pipeline.
COPY samples (user_id, sample_id, device_id, sample_type, value, start_time, end_time,
             utc_offset_seconds)
FROM STDIN (FORMAT binary)
