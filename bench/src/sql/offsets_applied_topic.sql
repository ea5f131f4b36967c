-- Messages a consumer group has applied from one topic, over its partitions.
SELECT COALESCE(sum(next_offset), 0)::bigint
FROM consumer_offsets
WHERE consumer_group = $1 AND topic = $2
