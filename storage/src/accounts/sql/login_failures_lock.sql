-- Both rows of one sign-in, locked in a fixed order until the transaction ends: parallel
-- attempts on the same account are counted one after the other.
SELECT address, failures, blocked_until
FROM login_failures
WHERE account = $1 AND address = ANY($2)
ORDER BY address
FOR UPDATE
