-- $1 relation, $2 type, $3 month, $4 rows and $5 fingerprint (numeric, as text) of the hot
-- tier's rows when the partition was written.
INSERT INTO archive_months (relation, sample_type, month, source_rows, source_fingerprint,
                            written_at)
VALUES ($1, $2, $3, $4, $5::text::numeric, now())
ON CONFLICT (relation, sample_type, month) DO UPDATE
SET source_rows = excluded.source_rows,
    source_fingerprint = excluded.source_fingerprint,
    written_at = excluded.written_at
