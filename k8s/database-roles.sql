-- healthpipe's database roles, least privilege: one per service, each granted only the
-- tables its code touches (read the storage layer's `.sql` files to check a change).
--
--   gateway    accounts, sessions, devices, idempotency keys, sign-in failures, the event
--              outbox, data keys, sharing state it owns; reads the projections
--   processor  the projections and its positions (consumer_offsets); reads data keys;
--              nothing of the accounts (no e-mail, no password hash)
--   registry   its own PostgreSQL schema, nothing else
--   migrator   owns every table: `healthpipe migrate` runs as it, and so do the operator's
--              commands and the retention and archive jobs (dropping chunks needs the owner)
--
-- Run it with psql as an administrator of the database (a superuser, or a CREATEROLE role
-- that owns the database, as on a managed PostgreSQL), twice per release: before the
-- migration job (it creates the roles and lets the migrator create tables), and after it
-- (it grants the tables the migration made; it says when it skipped them):
--
--   psql "$ADMIN_URL" -v ON_ERROR_STOP=1 -f k8s/database-roles.sql
--
-- Idempotent: each run revokes the services' table privileges and grants this file's in
-- one transaction, so a privilege removed here is removed there too. Optional psql
-- variables (-v name=value): the role names (gateway_role, processor_role, registry_role,
-- migrator_role), the registry's schema (registry_schema, as its REGISTRY_PG_SCHEMA), and
-- passwords (gateway_password...; or set them with \password, or use IAM authentication).
-- PostgreSQL 16 or later.

\set ON_ERROR_STOP on
\if :{?gateway_role} \else \set gateway_role healthpipe_gateway \endif
\if :{?processor_role} \else \set processor_role healthpipe_processor \endif
\if :{?registry_role} \else \set registry_role healthpipe_registry \endif
\if :{?migrator_role} \else \set migrator_role healthpipe_migrator \endif
\if :{?registry_schema} \else \set registry_schema schema_registry \endif

-- The roles: log in, nothing else (no superuser, no CREATEDB, no CREATEROLE).
SELECT format('CREATE ROLE %I LOGIN', name)
FROM unnest(ARRAY[:'gateway_role', :'processor_role', :'registry_role', :'migrator_role']) AS name
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = name) \gexec

\if :{?gateway_password}
SELECT format('ALTER ROLE %I PASSWORD %L', :'gateway_role', :'gateway_password') \gexec
\endif
\if :{?processor_password}
SELECT format('ALTER ROLE %I PASSWORD %L', :'processor_role', :'processor_password') \gexec
\endif
\if :{?registry_password}
SELECT format('ALTER ROLE %I PASSWORD %L', :'registry_role', :'registry_password') \gexec
\endif
\if :{?migrator_password}
SELECT format('ALTER ROLE %I PASSWORD %L', :'migrator_role', :'migrator_password') \gexec
\endif

-- Nobody else connects or creates anything; the four roles connect.
CREATE EXTENSION IF NOT EXISTS timescaledb;
REVOKE ALL ON DATABASE :"DBNAME" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"DBNAME"
    TO :"gateway_role", :"processor_role", :"registry_role", :"migrator_role";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"gateway_role", :"processor_role";
GRANT USAGE, CREATE ON SCHEMA public TO :"migrator_role";

-- The registry creates and owns its tables in its own schema (see registry/src/store).
CREATE SCHEMA IF NOT EXISTS :"registry_schema";
REVOKE ALL ON SCHEMA :"registry_schema" FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA :"registry_schema" TO :"registry_role";

-- Granting on the migrator's tables takes the migrator's privileges: an administrator that
-- is not a superuser gets them through membership (a CREATEROLE role may grant itself the
-- roles it created).
GRANT :"migrator_role" TO CURRENT_USER;

SELECT to_regclass('public.schema_migrations') IS NOT NULL AS migrated \gset
\if :migrated
BEGIN;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM :"gateway_role", :"processor_role", :"registry_role";
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM :"gateway_role", :"processor_role", :"registry_role";

-- The gateway: the accounts and everything that goes with them.
GRANT SELECT, INSERT, DELETE ON users TO :"gateway_role";
-- Profile changes only: e-mail and password hash are written once, at sign-up.
GRANT UPDATE (name, timezone) ON users TO :"gateway_role";
GRANT SELECT, INSERT, DELETE ON sessions TO :"gateway_role";
GRANT SELECT, INSERT ON devices TO :"gateway_role";
GRANT UPDATE (priority, type_priorities) ON devices TO :"gateway_role";
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys, login_failures TO :"gateway_role";
GRANT SELECT, INSERT, DELETE ON event_outbox TO :"gateway_role";
-- The relay locks a user's entries (SELECT ... FOR UPDATE needs UPDATE on one column);
-- nothing updates them.
GRANT UPDATE (created_at) ON event_outbox TO :"gateway_role";
-- Data keys: made with the account, destroyed by erasure; re-wrapping (`keys rotate`) is
-- the operator's, as the migrator.
GRANT SELECT, INSERT, DELETE ON user_keys TO :"gateway_role";
-- Sharing: the gateway's own state, and the grants as the view shows them.
GRANT SELECT, INSERT ON share_revocations TO :"gateway_role";
GRANT SELECT, INSERT ON share_links TO :"gateway_role";
GRANT UPDATE (attempts_left) ON share_links TO :"gateway_role";
-- Append-only (a trigger refuses other changes); erasure deletes an owner's rows.
GRANT SELECT, INSERT, DELETE ON share_access TO :"gateway_role";
-- Imports: the gateway's (and the command line's, with the gateway's settings) job rows.
GRANT SELECT, INSERT, UPDATE, DELETE ON imports TO :"gateway_role";
GRANT SELECT ON share_grants_read, providers TO :"gateway_role";
-- The read side: projections and the processors' positions (read-your-writes waits).
GRANT SELECT ON samples, aggregates, insights, insight_acknowledgements, user_profiles,
    bucket_zones, device_rankings, consumer_offsets TO :"gateway_role";

-- The processors: the projections they write, their positions, the keys they read.
GRANT SELECT, INSERT, UPDATE ON consumer_offsets TO :"processor_role";
GRANT SELECT ON user_keys TO :"processor_role";
GRANT SELECT, INSERT, DELETE ON samples, aggregates, day_partials, insight_acknowledgements
    TO :"processor_role";
GRANT SELECT, INSERT, UPDATE, DELETE ON sample_index, sync_versions, device_rankings,
    user_profiles, share_grants, insight_inputs, insight_users, insights TO :"processor_role";
-- An erasure leaves a note for the cold tier in the same transaction (`healthpipe archive`
-- rewrites the files holding the user's rows).
GRANT SELECT, INSERT ON archive_erasures TO :"processor_role";
COMMIT;
\else
\echo 'database-roles.sql: no tables yet (run the migration job, then this file again)'
\endif
