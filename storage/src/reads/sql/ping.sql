-- Readiness: a round trip through the pool, nothing read.
SELECT 1
