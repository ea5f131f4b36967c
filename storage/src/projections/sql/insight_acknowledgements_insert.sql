-- An acknowledgement already stored wins: acknowledging twice keeps the first time.
INSERT INTO insight_acknowledgements (user_id, insight_id, acknowledged_at)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[])
ON CONFLICT DO NOTHING
