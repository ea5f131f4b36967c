INSERT INTO insight_inputs (user_id, sample_type, period, period_start, value, min_value, max_value, sample_count)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[],
                     $5::float8[], $6::float8[], $7::float8[], $8::int[])
ON CONFLICT (user_id, sample_type, period, period_start) DO UPDATE SET
    value = EXCLUDED.value,
    min_value = EXCLUDED.min_value,
    max_value = EXCLUDED.max_value,
    sample_count = EXCLUDED.sample_count
