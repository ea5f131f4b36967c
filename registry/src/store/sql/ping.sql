-- Readiness: a round trip to the database through the pool.
SELECT 1
