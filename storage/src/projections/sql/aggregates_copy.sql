COPY aggregates (user_id, sample_type, period, period_start, value, min_value, max_value,
                 sample_count, coverage, device_count)
FROM STDIN BINARY
