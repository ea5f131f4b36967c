-- Running imports whose heartbeat stopped $1 seconds ago or more: their process ended.
UPDATE imports
SET status = 'failed', error = $2, finished_at = now()
WHERE status = 'running' AND heartbeat_at < now() - make_interval(secs => $1)
RETURNING import_id
