-- $1 instant: sessions expired before it.
SELECT count(*) FROM sessions WHERE expires_at < $1
