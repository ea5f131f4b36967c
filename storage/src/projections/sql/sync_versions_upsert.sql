INSERT INTO sync_versions (user_id, sync_identifier, version, sample_id)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::uuid[])
ON CONFLICT (user_id, sync_identifier)
DO UPDATE SET version = EXCLUDED.version, sample_id = EXCLUDED.sample_id
