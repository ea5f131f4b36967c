-- Which TimescaleDB edition runs: 'timescale' (community, with compression) or 'apache'.
SELECT coalesce(current_setting('timescaledb.license', true), 'apache')
