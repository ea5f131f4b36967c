-- Drops a scratch database even while a stopped service's sessions linger. {name} is a checked
-- identifier (see db::ddl). Not preparable: run as a simple query.
DROP DATABASE IF EXISTS {name} WITH (FORCE)
