-- Users whose local day turned since their last evaluation and who were not ticked for it yet,
-- with that local day. A zone PostgreSQL's tz database does not know would fail the whole
-- query; such users are left out (they are still evaluated on new data).
SELECT user_id, timezone, (($1::timestamptz) AT TIME ZONE timezone)::date
FROM insight_users
WHERE timezone IN (SELECT name FROM pg_timezone_names)
  AND (evaluated_at AT TIME ZONE timezone)::date < ($1::timestamptz AT TIME ZONE timezone)::date
  AND tick_sent IS DISTINCT FROM ($1::timestamptz AT TIME ZONE timezone)::date
LIMIT $2
FOR UPDATE SKIP LOCKED
