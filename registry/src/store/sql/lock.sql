-- Serialises every write of every registry instance sharing this PostgreSQL schema; released
-- at commit or rollback.
SELECT pg_advisory_xact_lock($1::int4, hashtext($2::text))
