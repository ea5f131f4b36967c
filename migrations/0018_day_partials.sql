-- Day partials: what each local day contributes to the week and the month holding it
-- (`healthpipe_domain::DayPartial`, as JSON). Weeks and months start at a local midnight, so
-- the aggregation processor combines their rows from the partials of their days instead of
-- re-reading every sample of a month: a late sample or a new day costs the samples of its
-- days only. Like the aggregates, a pure function of the samples, written only by the
-- aggregation processor (a replay rebuilds it); no endpoint reads it.
--
-- A plain table, not a hypertable: one row per (user, type, day), replaced whole, read by
-- user and type over the days of a month. Floats keep their bits: serde_json writes the
-- shortest digits that read back as the same double, and jsonb keeps numbers as numeric,
-- digit for digit.
CREATE TABLE IF NOT EXISTS day_partials (
    user_id      uuid        NOT NULL,
    sample_type  text        NOT NULL,
    -- The start of the local day, in the user's zone at the time it was computed.
    day_start    timestamptz NOT NULL,
    partial      jsonb       NOT NULL,
    PRIMARY KEY (user_id, sample_type, day_start)
);

-- A partial holds sums of sample values, so it does not outlive them: `healthpipe retention`
-- removes the days starting before the raw-sample horizon (weeks and months beginning before
-- it are frozen and never combined again). This index finds them without reading every
-- partial; a replay has nothing to copy for them (`healthpipe_replay_copy_frozen` copies
-- only aggregates).
CREATE INDEX IF NOT EXISTS day_partials_day_start_idx ON day_partials (day_start);
