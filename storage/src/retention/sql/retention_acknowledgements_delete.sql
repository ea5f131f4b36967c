-- $1 horizon: acknowledgements given before it.
DELETE FROM insight_acknowledgements WHERE acknowledged_at < $1
