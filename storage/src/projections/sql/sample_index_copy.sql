COPY sample_index (user_id, sample_id, sample_type, start_time, end_time, deleted) FROM STDIN BINARY
