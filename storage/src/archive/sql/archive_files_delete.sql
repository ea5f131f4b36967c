-- $1 relation, $2 type, $3 month: forget the partition's files (their users go with them);
-- returns their paths, to delete them from the store once the new ones are recorded.
DELETE FROM archive_files WHERE relation = $1 AND sample_type = $2 AND month = $3
RETURNING path
