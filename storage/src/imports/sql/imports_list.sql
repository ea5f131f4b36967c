SELECT import_id, source, origin, status, phase, error, bytes_total, bytes_read, records,
       report, created_at, finished_at
FROM imports
WHERE user_id = $1
ORDER BY created_at DESC
LIMIT $2
