-- $1 topic: every group's position on it, held (FOR UPDATE) until the move commits, so a
-- processor still running on the topic waits instead of moving a position being copied.
SELECT consumer_group, partition, next_offset
FROM consumer_offsets
WHERE topic = $1
ORDER BY consumer_group, partition
FOR UPDATE
