COPY day_partials (user_id, sample_type, day_start, partial)
FROM STDIN BINARY
