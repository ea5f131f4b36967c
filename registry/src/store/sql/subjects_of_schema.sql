SELECT subject, version FROM subject_versions WHERE schema_id = $1 ORDER BY subject, version
