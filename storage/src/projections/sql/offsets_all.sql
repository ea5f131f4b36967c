-- Every group's position in every partition it has applied.
SELECT consumer_group, topic, partition, next_offset
FROM consumer_offsets
ORDER BY consumer_group, topic, partition
