-- {name} is a checked identifier (see db::ddl). Identifiers cannot be parameters: run as a
-- simple query.
DROP SCHEMA {name} CASCADE
