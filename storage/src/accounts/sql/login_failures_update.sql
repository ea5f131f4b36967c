UPDATE login_failures AS f
SET failures = u.failures, blocked_until = u.blocked_until, updated_at = now()
FROM unnest($2::bytea[], $3::integer[], $4::timestamptz[]) AS u (address, failures, blocked_until)
WHERE f.account = $1 AND f.address = u.address
