-- A row per partition the batch touches, so the lock below always finds one.
INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset)
SELECT $1, $2, p, 0 FROM unnest($3::int[]) AS p
ON CONFLICT DO NOTHING
