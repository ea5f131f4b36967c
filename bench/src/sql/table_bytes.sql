-- Bytes on disk of table $1 of the current schema, indexes and TOAST included. A
-- hypertable's rows live in its chunks, not in the table itself: hypertable_size counts them.
SELECT CASE
         WHEN EXISTS (SELECT 1 FROM timescaledb_information.hypertables
                      WHERE hypertable_schema = current_schema() AND hypertable_name = $1)
         THEN hypertable_size($1::regclass)
         ELSE pg_total_relation_size($1::regclass)
       END::bigint
