-- Every decrypting read of a topic by an operator (`healthpipe topic read --decrypt`): who,
-- when, what. Recorded before the first message is read, so a read cut short is on record
-- too; `messages` and `finished_at` are filled in at the end.
CREATE TABLE IF NOT EXISTS topic_reads (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operator     text        NOT NULL,
    topic        text        NOT NULL,
    from_time    timestamptz NOT NULL,
    to_time      timestamptz NOT NULL,
    user_id      uuid,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    messages     bigint
);
