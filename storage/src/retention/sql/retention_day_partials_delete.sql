-- $1 horizon: day partials of days starting before it (the raw-sample horizon). A partial holds
-- sums of sample values, so it goes with them; weeks and months starting before the horizon
-- are frozen and never combined from their days again.
DELETE FROM day_partials WHERE day_start < $1
