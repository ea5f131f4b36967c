COPY day_partials (user_id, sample_type, day_start, sum, whole_count, whole_min, whole_max,
                   shared_ids, shared_amounts, counted_nanos, devices,
                   latest_start, latest_id, latest_value)
FROM STDIN BINARY
