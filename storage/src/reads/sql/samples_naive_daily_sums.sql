-- Every stored sample summed per local start date, without deduplication: what a naive
-- aggregator would report, shown beside the deduplicated totals.
SELECT (start_time AT TIME ZONE $3)::date, sum(value)
FROM samples
WHERE user_id = $1 AND sample_type = $2
GROUP BY 1
