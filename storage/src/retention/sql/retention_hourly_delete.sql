-- $1 horizon: hour buckets starting before it.
DELETE FROM aggregates WHERE period = 'hour' AND period_start < $1
