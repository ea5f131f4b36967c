-- $1 group, $2 topic, $3 partitions, $4 next offsets: positions set as given (a topic's
-- positions carried over to the topic that replaces it).
INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset)
SELECT $1, $2, d.p, d.o
FROM unnest($3::int[], $4::bigint[]) AS d(p, o)
ON CONFLICT (consumer_group, topic, partition)
DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()
