-- The rankings as the aggregation processor projected them from the device events: the one
-- source both the aggregates and the reads that explain them rank by.
SELECT user_id, device_id, priority, type_priorities
FROM device_rankings
WHERE user_id = ANY($1)
