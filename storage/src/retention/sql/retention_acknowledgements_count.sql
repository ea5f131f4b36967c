-- $1 horizon: acknowledgements given before it.
SELECT count(*) FROM insight_acknowledgements WHERE acknowledged_at < $1
