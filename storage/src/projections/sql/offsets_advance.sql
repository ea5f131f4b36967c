-- Forward only: a stale instance can never move a partition back.
UPDATE consumer_offsets c
SET next_offset = d.o, updated_at = now()
FROM unnest($3::int[], $4::bigint[]) AS d(p, o)
WHERE c.consumer_group = $1 AND c.topic = $2 AND c.partition = d.p AND c.next_offset < d.o
