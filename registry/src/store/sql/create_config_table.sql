-- Compatibility levels; the global level is the row whose subject is '' (no subject is empty).
CREATE TABLE IF NOT EXISTS config (
    subject       TEXT PRIMARY KEY,
    compatibility TEXT NOT NULL
)
