-- A successful sign-in: the account and this address start afresh.
DELETE FROM login_failures WHERE account = $1 AND address = ANY($2)
