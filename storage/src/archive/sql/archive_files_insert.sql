-- $1 path, $2 relation, $3 type, $4 month, $5 part, $6 rows, $7 bytes, $8 SHA-256 (hex).
INSERT INTO archive_files (path, relation, sample_type, month, part, row_count, bytes, sha256)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
