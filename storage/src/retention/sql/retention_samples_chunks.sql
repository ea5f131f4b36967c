-- $1 instant: whole sample chunks that end before it go at once (no row-by-row delete).
SELECT count(*) FROM drop_chunks('samples', older_than => $1::timestamptz)
