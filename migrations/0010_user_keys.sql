-- Each user's data key, wrapped by a key-encryption key (kek_id names which). Not a
-- projection: no replay writes it, and erasing a user deletes the row, which makes every
-- event of that user in the log unreadable for good ("crypto-shredding"). The gateway
-- creates the key with the account (or, for an account older than encryption, on its first
-- sealed event); processors only read it.
CREATE TABLE IF NOT EXISTS user_keys (
    user_id     uuid        PRIMARY KEY,
    kek_id      text        NOT NULL,
    wrapped     bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- Rotation walks the keys not yet under the current key-encryption key.
CREATE INDEX IF NOT EXISTS user_keys_kek_idx ON user_keys (kek_id, user_id);
