-- The cold tier: `healthpipe archive` writes old months of `samples` and `aggregates` as
-- Parquet files to an object store (ARCHIVE_URL). These tables are its manifest. A month is
-- one partition: (relation, sample type, calendar month in UTC).

-- One row per archived partition: what the hot tier held when the partition was last
-- written, so a run can tell a month that changed since (late data, recomputed aggregates,
-- deletions) from one that did not. `source_rows` and `source_fingerprint` are the count and
-- the sum of `archive_*_hash` over the partition's rows in the database at that time.
CREATE TABLE IF NOT EXISTS archive_months (
    relation            text        NOT NULL CHECK (relation IN ('samples', 'aggregates')),
    sample_type         text        NOT NULL,
    month               date        NOT NULL CHECK (extract(day FROM month) = 1),
    source_rows         bigint      NOT NULL,
    source_fingerprint  numeric     NOT NULL,
    written_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (relation, sample_type, month)
);

-- The time ranges of a partition as the last run saw them: with `chunk`, a hypertable chunk
-- that held the month then (its name: a dropped chunk's name is never reused); without, a
-- cold range, whose chunk a retention policy dropped after the month was archived, so that
-- only the archive holds its rows. A rewrite keeps archived rows in cold ranges and takes
-- every other row from the database.
CREATE TABLE IF NOT EXISTS archive_segments (
    relation     text        NOT NULL,
    sample_type  text        NOT NULL,
    month        date        NOT NULL,
    range_start  timestamptz NOT NULL,
    range_end    timestamptz NOT NULL,
    chunk        text,
    FOREIGN KEY (relation, sample_type, month) REFERENCES archive_months ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS archive_segments_month_idx
    ON archive_segments (relation, sample_type, month);

-- The manifest: every file of the archive. `path` is relative to ARCHIVE_URL; `sha256` is
-- the file's content fingerprint. A file is recorded only once it is whole in the store. A
-- rewrite records the new files and drops the old rows in one transaction, then deletes the
-- old files; files in a partition's folder that the manifest does not name (left by a run
-- that stopped halfway) are deleted by the next write of that partition. Past the retention
-- horizon, a partition's files are deleted first, then its rows.
CREATE TABLE IF NOT EXISTS archive_files (
    path         text        PRIMARY KEY,
    relation     text        NOT NULL,
    sample_type  text        NOT NULL,
    month        date        NOT NULL,
    part         integer     NOT NULL,
    row_count    bigint      NOT NULL,
    bytes        bigint      NOT NULL,
    sha256       text        NOT NULL,
    written_at   timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (relation, sample_type, month) REFERENCES archive_months ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS archive_files_month_idx ON archive_files (relation, sample_type, month);

-- Which users have rows in which file, so an erasure finds the files to rewrite.
CREATE TABLE IF NOT EXISTS archive_file_users (
    path     text NOT NULL REFERENCES archive_files ON DELETE CASCADE,
    user_id  uuid NOT NULL,
    PRIMARY KEY (path, user_id)
);
CREATE INDEX IF NOT EXISTS archive_file_users_user_idx ON archive_file_users (user_id);

-- Erasures the archive has not applied yet: written by the aggregation processor in the
-- transaction that erases the user's projections, removed by the next `healthpipe archive`
-- once it rewrote every file holding a row of the user.
CREATE TABLE IF NOT EXISTS archive_erasures (
    user_id       uuid        PRIMARY KEY,
    requested_at  timestamptz NOT NULL DEFAULT now()
);

-- A row's hash for the partition fingerprints: every column, times as epoch seconds so the
-- session's time zone and date style cannot change it. One definition for the archive run
-- and for `archived_months`, which must agree.
CREATE OR REPLACE FUNCTION archive_sample_hash(s samples) RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN hashtextextended(row(s.user_id, s.sample_id, s.device_id, s.sample_type, s.value,
                                extract(epoch FROM s.start_time), extract(epoch FROM s.end_time),
                                s.utc_offset_seconds, s.source_app, s.sync_identifier,
                                s.sync_version, s.metadata, s.counted_fraction,
                                md5(s.details))::text, 0);

CREATE OR REPLACE FUNCTION archive_aggregate_hash(a aggregates) RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN hashtextextended(row(a.user_id, a.sample_type, a.period,
                                extract(epoch FROM a.period_start), a.value, a.min_value,
                                a.max_value, a.sample_count, a.coverage,
                                a.device_count)::text, 0);
