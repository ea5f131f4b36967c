-- Sharing with clinicians.

-- Share grants: a projection of ShareGranted, ShareRedeemed and ShareRevoked on the owner's
-- stream, written only by the aggregation processor (a replay rebuilds it). `user_id` is the
-- owner. The access code is not here: only its SHA-256, to find the grant a code opens.
CREATE TABLE IF NOT EXISTS share_grants (
    share_id        uuid        PRIMARY KEY,
    user_id         uuid        NOT NULL,
    recipient_email text        NOT NULL,
    sample_types    text[]      NOT NULL,
    date_start      date        NOT NULL,
    date_end        date        NOT NULL,
    expires_at      timestamptz NOT NULL,
    label           text        NOT NULL,
    code_digest     text        NOT NULL,
    granted_at      timestamptz NOT NULL,
    redeemed_by     uuid,
    redeemed_at     timestamptz,
    revoked_at      timestamptz
);
CREATE INDEX IF NOT EXISTS share_grants_user_idx ON share_grants (user_id, granted_at);
CREATE INDEX IF NOT EXISTS share_grants_code_idx ON share_grants (code_digest);
CREATE INDEX IF NOT EXISTS share_grants_provider_idx ON share_grants (redeemed_by)
    WHERE redeemed_by IS NOT NULL;

-- Revocations as the gateway takes them, before the processor applied the event: reads
-- check both, so a share is refused from the moment the owner's request is taken, however
-- far the projection lags. Gateway state, not a projection; it goes with the account.
CREATE TABLE IF NOT EXISTS share_revocations (
    share_id    uuid        PRIMARY KEY,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    revoked_at  timestamptz NOT NULL DEFAULT now()
);

-- Every read of shared data and every refusal, for the owner to see. Append-only: a row is
-- inserted and never changed; only erasure and retention remove rows, and they say so in
-- their transaction (SET LOCAL healthpipe.removing_access_records = 'on'); the trigger
-- refuses any other update or delete, whoever the role.
CREATE TABLE IF NOT EXISTS share_access (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    share_id      uuid,
    owner_id      uuid,
    reader_id     uuid,
    link_id       uuid,
    recipient     text,
    sample_types  text[]      NOT NULL DEFAULT '{}',
    range_start   date,
    range_end     date,
    client        text,
    action        text        NOT NULL,
    outcome       text        NOT NULL,
    reason        text
);
CREATE INDEX IF NOT EXISTS share_access_share_idx ON share_access (share_id, at);
CREATE INDEX IF NOT EXISTS share_access_owner_idx ON share_access (owner_id);

CREATE OR REPLACE FUNCTION share_access_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('healthpipe.removing_access_records', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION 'share_access is append-only: rows are removed only by erasure and retention';
    END IF;
    RETURN OLD;
END
$$;
DROP TRIGGER IF EXISTS share_access_append_only ON share_access;
CREATE TRIGGER share_access_append_only BEFORE UPDATE OR DELETE ON share_access
    FOR EACH ROW EXECUTE FUNCTION share_access_append_only();
DROP TRIGGER IF EXISTS share_access_no_truncate ON share_access;
CREATE TRIGGER share_access_no_truncate BEFORE TRUNCATE ON share_access
    FOR EACH STATEMENT EXECUTE FUNCTION share_access_append_only();

-- SMART Health Links of a grant: the grant's slice as a compact JWE under a key only the
-- link carries (never stored), the passcode's Argon2id hash, the attempts left. Gateway
-- state; it goes with the account, and dies with its grant (checked when opened).
CREATE TABLE IF NOT EXISTS share_links (
    link_id        uuid        PRIMARY KEY,
    manifest_id    text        NOT NULL UNIQUE,
    share_id       uuid        NOT NULL,
    user_id        uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label          text        NOT NULL,
    passcode_hash  text,
    attempts_left  integer     NOT NULL,
    jwe            text        NOT NULL,
    expires_at     timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- Provider accounts: made by an operator (`healthpipe providers add`), never by sign-up.
CREATE TABLE IF NOT EXISTS providers (
    user_id       uuid        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    organisation  text        NOT NULL,
    verified_at   timestamptz NOT NULL DEFAULT now()
);

-- Grants as the gateway reads them: a revocation the gateway took counts before the
-- processor applied it, and the last read allowed through each grant.
CREATE OR REPLACE VIEW share_grants_read AS
SELECT g.share_id, g.user_id, g.recipient_email, g.sample_types, g.date_start, g.date_end,
       g.expires_at, g.label, g.code_digest, g.granted_at, g.redeemed_by, g.redeemed_at,
       coalesce(g.revoked_at, r.revoked_at) AS revoked_at,
       (SELECT max(a.at) FROM share_access a
        WHERE a.share_id = g.share_id AND a.outcome = 'allowed') AS last_access
FROM share_grants g
LEFT JOIN share_revocations r ON r.share_id = g.share_id;
