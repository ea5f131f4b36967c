-- The account's row and the (account, address) row, created empty when missing, so that
-- the lock that follows always has rows to hold.
INSERT INTO login_failures (account, address, failures, blocked_until)
SELECT $1, address, 0, now()
FROM unnest($2::bytea[]) AS address
ON CONFLICT (account, address) DO NOTHING
