-- Ids are dense (max + 1): safe because the caller holds the write lock.
INSERT INTO schemas (id, schema_type, fingerprint, normalized, canonical, schema_text)
SELECT COALESCE(MAX(id), 0) + 1, $1::text, $2::bytea, $3::text, $4::text, $5::text FROM schemas
RETURNING id
