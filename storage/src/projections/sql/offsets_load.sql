SELECT partition, next_offset
FROM consumer_offsets
WHERE consumer_group = $1 AND topic = $2
