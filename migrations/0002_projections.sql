-- Projections: a pure function of the per-user event log, written only by the processors.

-- Where each processor group stands in each partition, committed in the same transaction
-- as the rows it produced: this, not Kafka's committed offset, is the source of truth.
CREATE TABLE IF NOT EXISTS consumer_offsets (
    consumer_group  text    NOT NULL,
    topic           text    NOT NULL,
    partition       integer NOT NULL,
    next_offset     bigint  NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, partition)
);

CREATE TABLE IF NOT EXISTS user_profiles (
    user_id   uuid PRIMARY KEY,
    timezone  text NOT NULL
);

CREATE TABLE IF NOT EXISTS device_rankings (
    user_id          uuid    NOT NULL,
    device_id        uuid    NOT NULL,
    device_type      text    NOT NULL,
    priority         integer NOT NULL,
    type_priorities  jsonb   NOT NULL DEFAULT '{}',
    PRIMARY KEY (user_id, device_id)
);

-- Every sample id ever seen for a user (first occurrence wins; deletions leave a tombstone so
-- a re-sent deleted sample stays deleted), and where to find the row in the hypertable.
CREATE TABLE IF NOT EXISTS sample_index (
    user_id      uuid        NOT NULL,
    sample_id    uuid        NOT NULL,
    sample_type  text        NOT NULL,
    start_time   timestamptz NOT NULL,
    end_time     timestamptz NOT NULL,
    deleted      boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (user_id, sample_id)
);

-- The current version of each sync identifier (HealthKit sync identifier, Health Connect
-- clientRecordId): a higher version replaces the sample, a lower or equal one is ignored.
CREATE TABLE IF NOT EXISTS sync_versions (
    user_id          uuid   NOT NULL,
    sync_identifier  text   NOT NULL,
    version          bigint NOT NULL,
    sample_id        uuid   NOT NULL,
    PRIMARY KEY (user_id, sync_identifier)
);

CREATE TABLE IF NOT EXISTS samples (
    user_id             uuid             NOT NULL,
    sample_id           uuid             NOT NULL,
    device_id           uuid             NOT NULL,
    sample_type         text             NOT NULL,
    value               double precision NOT NULL,
    start_time          timestamptz      NOT NULL,
    end_time            timestamptz      NOT NULL,
    utc_offset_seconds  integer          NOT NULL,
    source_app          text,
    sync_identifier     text,
    sync_version        bigint,
    metadata            jsonb            NOT NULL DEFAULT '{}',
    counted_fraction    double precision NOT NULL DEFAULT 1,
    PRIMARY KEY (user_id, sample_id, start_time)
);
SELECT create_hypertable('samples', 'start_time', chunk_time_interval => interval '7 days',
                         if_not_exists => true);
CREATE INDEX IF NOT EXISTS samples_user_type_time_idx
    ON samples (user_id, sample_type, start_time DESC);

CREATE TABLE IF NOT EXISTS aggregates (
    user_id       uuid             NOT NULL,
    sample_type   text             NOT NULL,
    period        text             NOT NULL CHECK (period IN ('hour', 'day', 'week', 'month')),
    period_start  timestamptz      NOT NULL,
    value         double precision NOT NULL,
    min_value     double precision NOT NULL,
    max_value     double precision NOT NULL,
    sample_count  integer          NOT NULL,
    PRIMARY KEY (user_id, sample_type, period, period_start)
);
SELECT create_hypertable('aggregates', 'period_start', chunk_time_interval => interval '30 days',
                         if_not_exists => true);
