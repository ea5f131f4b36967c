-- $1 the archive's lock key: one `healthpipe archive` at a time (a session lock, released at
-- the end of the run or when its connection goes).
SELECT pg_try_advisory_lock($1)
