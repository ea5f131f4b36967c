-- Whether the registry's PostgreSQL schema exists. Checked before `CREATE SCHEMA IF NOT
-- EXISTS`, which needs CREATE on the whole database even when the schema is there: a
-- deployment gives the registry's role a schema made for it and nothing database-wide.
SELECT 1 FROM pg_namespace WHERE nspname = $1
