-- How many data keys each key-encryption key wraps.
SELECT kek_id, count(*) FROM user_keys GROUP BY kek_id ORDER BY kek_id
