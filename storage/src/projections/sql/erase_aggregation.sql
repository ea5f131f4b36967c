-- $1 users: everything the aggregation projection holds about them (their erasure), and a
-- note for the cold tier, whose files `healthpipe archive` rewrites without them.
WITH s AS (DELETE FROM samples WHERE user_id = ANY($1::uuid[])),
     i AS (DELETE FROM sample_index WHERE user_id = ANY($1::uuid[])),
     v AS (DELETE FROM sync_versions WHERE user_id = ANY($1::uuid[])),
     a AS (DELETE FROM aggregates WHERE user_id = ANY($1::uuid[])),
     d AS (DELETE FROM day_partials WHERE user_id = ANY($1::uuid[])),
     r AS (DELETE FROM device_rankings WHERE user_id = ANY($1::uuid[])),
     g AS (DELETE FROM share_grants WHERE user_id = ANY($1::uuid[])),
     e AS (INSERT INTO archive_erasures (user_id)
           SELECT DISTINCT unnest($1::uuid[]) ON CONFLICT (user_id) DO NOTHING)
DELETE FROM user_profiles WHERE user_id = ANY($1::uuid[])
