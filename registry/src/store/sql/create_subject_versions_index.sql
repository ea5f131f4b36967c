-- Serves `GET /schemas/ids/{id}/versions`.
CREATE INDEX IF NOT EXISTS subject_versions_schema_id ON subject_versions (schema_id)
