-- $1 horizon: the samples ending on or before it still there after whole chunks were dropped.
DELETE FROM samples WHERE start_time < $1 AND end_time <= $1
