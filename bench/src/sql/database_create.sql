-- A scratch database; {name} is a checked identifier (see db::ddl). Not preparable: run as a
-- simple query.
CREATE DATABASE {name}
