-- $1 path, $2 the users with a row in the file.
INSERT INTO archive_file_users (path, user_id) SELECT $1, unnest($2::uuid[])
