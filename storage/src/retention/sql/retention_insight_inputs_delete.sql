-- $1 horizon: the insights processor's input rows of buckets starting before it.
DELETE FROM insight_inputs WHERE period_start < $1
