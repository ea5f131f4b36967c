-- One ticker at a time: held until the transaction ends, never blocks (another instance that
-- holds it is doing the work).
SELECT pg_try_advisory_xact_lock($1)
