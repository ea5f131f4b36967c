-- A bounded batch of rows idle longer than $1 milliseconds and no longer blocking; rows
-- another sign-in holds are skipped, not waited for.
DELETE FROM login_failures
WHERE (account, address) IN (
    SELECT account, address FROM login_failures
    WHERE updated_at < now() - $1 * interval '1 millisecond' AND blocked_until < now()
    ORDER BY updated_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED)
