-- $1 the archive's lock key.
SELECT pg_advisory_unlock($1)
