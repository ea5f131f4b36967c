-- $1 horizon: the insights processor's input rows of buckets starting before it.
SELECT count(*) FROM insight_inputs WHERE period_start < $1
