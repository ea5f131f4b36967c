-- Whether the migrations created `samples` in schema $1.
SELECT count(*)
FROM information_schema.tables
WHERE table_schema = $1 AND table_name = 'samples'
