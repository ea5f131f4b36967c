-- A sample's free text (source app and metadata), sealed with the user's data key
-- (AES-256-GCM-SIV, deterministic so a replay writes the same bytes). Rows written before
-- keep their clear `source_app` and `metadata`; new rows leave those empty.
ALTER TABLE samples ADD COLUMN IF NOT EXISTS details bytea;
