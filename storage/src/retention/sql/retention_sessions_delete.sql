-- $1 instant: sessions expired before it.
DELETE FROM sessions WHERE expires_at < $1
