-- The start time is part of the key. Taken from the array it prunes no chunk: every
-- sample would descend the key index of every chunk (a cost growing with history). $4 and
-- $5, the earliest and latest of the start times, leave out the chunks none of them is in.
DELETE FROM samples s
USING unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS d(u, id, t)
WHERE s.user_id = d.u AND s.sample_id = d.id AND s.start_time = d.t
  AND s.start_time >= $4 AND s.start_time <= $5
