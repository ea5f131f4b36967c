-- Stored samples per device of the user, for the devices given.
SELECT device_id, count(*)
FROM samples
WHERE user_id = $1 AND device_id = ANY($2)
GROUP BY device_id
