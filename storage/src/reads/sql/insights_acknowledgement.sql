-- No row: not an insight of this user. A row with NULL: not acknowledged yet.
SELECT a.acknowledged_at
FROM insights i
LEFT JOIN insight_acknowledgements a ON a.user_id = i.user_id AND a.insight_id = i.insight_id
WHERE i.user_id = $1 AND i.insight_id = $2
