UPDATE imports
SET status = $2, error = $3, report = $4, phase = 'done', finished_at = now(),
    heartbeat_at = now()
WHERE import_id = $1 AND status = 'running'
RETURNING import_id
