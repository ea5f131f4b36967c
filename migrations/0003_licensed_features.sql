-- Features of TimescaleDB's community (Timescale-licensed) edition: native compression of old
-- sample chunks. The Apache edition refuses them with a licence error, so they apply only
-- where the licensed edition runs; everything else works on both.
DO $$
BEGIN
    IF current_setting('timescaledb.license', true) = 'timescale' THEN
        ALTER TABLE samples SET (timescaledb.compress,
                                 timescaledb.compress_segmentby = 'user_id, sample_type');
        PERFORM add_compression_policy('samples', interval '30 days', if_not_exists => true);
    END IF;
END
$$;
