-- $1 horizon: day partials of days starting before it (the raw-sample horizon).
SELECT count(*) FROM day_partials WHERE day_start < $1
