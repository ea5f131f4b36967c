-- {schema} is replaced by a validated `PgSchema` name: DDL cannot take bind parameters.
CREATE SCHEMA IF NOT EXISTS {schema}
