-- The current version of each sync identifier the batch mentions.
SELECT v.user_id, v.sync_identifier, v.version, v.sample_id
FROM sync_versions v
JOIN unnest($1::uuid[], $2::text[]) AS k(u, s) ON v.user_id = k.u AND v.sync_identifier = k.s
