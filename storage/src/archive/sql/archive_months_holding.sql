-- $1 users: the archived partitions with a file holding a row of any of them.
SELECT DISTINCT f.relation, f.sample_type, f.month
FROM archive_file_users u
JOIN archive_files f USING (path)
WHERE u.user_id = ANY($1::uuid[])
