SELECT 1 FROM schema_migrations WHERE name = $1
