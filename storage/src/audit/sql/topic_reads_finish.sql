-- $1 read, $2 messages printed: the read ended.
UPDATE topic_reads SET finished_at = now(), messages = $2 WHERE id = $1
