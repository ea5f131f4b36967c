-- $1 horizon: insights last updated before it.
DELETE FROM insights WHERE updated_at < $1
