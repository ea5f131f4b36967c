-- Erased users whose rows may still be in archived files.
SELECT user_id, requested_at FROM archive_erasures ORDER BY requested_at, user_id
