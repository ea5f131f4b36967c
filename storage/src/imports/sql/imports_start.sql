-- Nothing is inserted while the user has a running import (one at a time).
INSERT INTO imports (import_id, user_id, source, origin, status, bytes_total)
VALUES ($1, $2, $3, $4, 'running', $5)
ON CONFLICT (user_id) WHERE status = 'running' DO NOTHING
RETURNING import_id
