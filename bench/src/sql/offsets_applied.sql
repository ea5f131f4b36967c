-- Messages a consumer group has applied, over all partitions and topics.
SELECT COALESCE(sum(next_offset), 0)::bigint
FROM consumer_offsets
WHERE consumer_group = $1
