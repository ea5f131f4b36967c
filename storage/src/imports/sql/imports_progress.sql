-- Nothing is updated once the import is no longer running (marked failed as interrupted).
UPDATE imports
SET phase = $2, bytes_read = $3, records = $4, heartbeat_at = now()
WHERE import_id = $1 AND status = 'running'
RETURNING import_id
