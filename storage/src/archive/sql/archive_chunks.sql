-- $1 hypertable, $2 and $3 a time range: the hypertable's chunks overlapping it, by name (a
-- dropped chunk's name is never given to another), with their ranges.
SELECT format('%I.%I', chunk_schema, chunk_name), range_start, range_end
FROM timescaledb_information.chunks
WHERE hypertable_schema = current_schema() AND hypertable_name = $1
  AND range_start < $3 AND range_end > $2
ORDER BY range_start, chunk_name
