-- Users with an entry older than $1 seconds: left by a request that could not reach Kafka.
SELECT DISTINCT user_id FROM event_outbox
WHERE created_at < now() - make_interval(secs => $1)
LIMIT $2
