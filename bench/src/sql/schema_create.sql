-- A schema for a replay next to the live projections; {name} is a checked identifier (see
-- db::ddl). Identifiers cannot be parameters: run as a simple query.
CREATE SCHEMA {name}
