-- $1 horizon: hour buckets starting before it.
SELECT count(*) FROM aggregates WHERE period = 'hour' AND period_start < $1
