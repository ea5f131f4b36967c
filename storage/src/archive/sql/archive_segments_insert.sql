-- $1 relation, $2 type, $3 month, $4 to $6 the ranges' starts, ends and chunk names (null for
-- a cold range).
INSERT INTO archive_segments (relation, sample_type, month, range_start, range_end, chunk)
SELECT $1, $2, $3, s.range_start, s.range_end, s.chunk
FROM unnest($4::timestamptz[], $5::timestamptz[], $6::text[]) AS s(range_start, range_end, chunk)
