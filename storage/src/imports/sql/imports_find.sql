SELECT import_id, source, origin, status, phase, error, bytes_total, bytes_read, records,
       report, created_at, finished_at
FROM imports
WHERE import_id = $1 AND user_id = $2
