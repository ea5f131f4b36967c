-- $1 horizon: insights last updated before it.
SELECT count(*) FROM insights WHERE updated_at < $1
