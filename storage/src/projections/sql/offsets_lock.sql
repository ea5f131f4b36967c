-- The batch's partitions, locked until the batch commits: two instances that both think they
-- own a partition serialise here, and the second finds the work already done.
SELECT partition, next_offset
FROM consumer_offsets
WHERE consumer_group = $1 AND topic = $2 AND partition = ANY($3)
ORDER BY partition
FOR UPDATE
