-- $1 topic: the groups with positions on it.
SELECT DISTINCT consumer_group FROM consumer_offsets WHERE topic = $1 ORDER BY 1
