-- $2: NULL for every insight, true for the unread ones, false for the acknowledged ones.
SELECT i.insight_id, i.insight_type, i.severity, i.status, i.direction, i.message,
       i.recommendation, i.data, i.created_at, i.updated_at, a.acknowledged_at
FROM insights i
LEFT JOIN insight_acknowledgements a ON a.user_id = i.user_id AND a.insight_id = i.insight_id
WHERE i.user_id = $1 AND ($2::boolean IS NULL OR (a.acknowledged_at IS NULL) = $2)
ORDER BY i.updated_at DESC, i.insight_id
LIMIT $3
