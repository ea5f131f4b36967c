-- Versions are dense per subject (max + 1): safe because the caller holds the write lock.
INSERT INTO subject_versions (subject, version, schema_id)
SELECT $1::text, COALESCE(MAX(version), 0) + 1, $2::int4 FROM subject_versions WHERE subject = $1::text
RETURNING version
