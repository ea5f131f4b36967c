-- $1 operator, $2 topic, $3 from, $4 to, $5 user (or null): a decrypting read begins.
INSERT INTO topic_reads (operator, topic, from_time, to_time, user_id)
VALUES ($1, $2, $3, $4, $5)
RETURNING id
