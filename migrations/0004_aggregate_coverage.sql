-- Coverage of each aggregate, so clients can tell a quiet day from a day the devices were off.
-- `coverage`: for cumulative types the share (0..1) of the bucket's time covered by counted
-- samples; NULL for discrete and latest types (and for rows written before this migration,
-- until their bucket is recomputed). `device_count`: distinct devices with a sample counted in
-- the bucket.
ALTER TABLE aggregates ADD COLUMN IF NOT EXISTS coverage double precision;
ALTER TABLE aggregates ADD COLUMN IF NOT EXISTS device_count integer NOT NULL DEFAULT 0;
