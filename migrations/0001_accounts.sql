-- Gateway state: accounts, sessions and the device registry. Not projections: the
-- gateway owns these rows and emits an event for every change the processors need.

CREATE TABLE IF NOT EXISTS users (
    id             uuid PRIMARY KEY,
    email          text NOT NULL UNIQUE,           -- stored lower-cased
    password_hash  text NOT NULL,                  -- Argon2id PHC string, never the password
    name           text NOT NULL,
    timezone       text NOT NULL,                  -- IANA name
    role           text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'provider')),
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS sessions (
    token_hash  bytea PRIMARY KEY,                 -- SHA-256 of the bearer token
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user_idx ON sessions (user_id);

CREATE TABLE IF NOT EXISTS devices (
    id                 uuid PRIMARY KEY,
    user_id            uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_type        text NOT NULL,
    device_name        text NOT NULL,
    device_identifier  text NOT NULL,
    priority           integer NOT NULL,
    type_priorities    jsonb NOT NULL DEFAULT '{}',
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, device_identifier)
);
