-- The round trip every query latency is compared with.
SELECT 1
