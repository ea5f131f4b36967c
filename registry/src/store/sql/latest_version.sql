SELECT v.version, v.schema_id, s.schema_type, s.schema_text
FROM subject_versions v JOIN schemas s ON s.id = v.schema_id
WHERE v.subject = $1
ORDER BY v.version DESC
LIMIT 1
