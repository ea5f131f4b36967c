-- Day partials: what each local day contributes to the week and the month holding it
-- (`healthpipe_domain::DayPartial`). Weeks and months start at a local midnight, so the
-- aggregation processor combines their rows from the partials of their days instead of
-- re-reading every sample of a month: a late sample or a new day costs the samples of its
-- days only. Like the aggregates, a pure function of the samples, written only by the
-- aggregation processor (a replay rebuilds it); no endpoint reads it.
--
-- A plain table, not a hypertable: one row per (user, type, day), replaced whole, read by
-- user and type over the days of a month. Doubles are stored as float8, bit for bit.
CREATE TABLE IF NOT EXISTS day_partials (
    user_id         uuid               NOT NULL,
    sample_type     text               NOT NULL,
    -- The start of the local day, in the user's zone at the time it was computed.
    day_start       timestamptz        NOT NULL,
    -- Every counted sample's contribution, summed in canonical order.
    sum             double precision   NOT NULL,
    -- The samples counted in this day only: how many, their smallest and largest contribution.
    whole_count     integer            NOT NULL,
    whole_min       double precision,
    whole_max       double precision,
    -- Cumulative samples also counted in other days (across midnight) and their amount here.
    shared_ids      text[]             NOT NULL,
    shared_amounts  double precision[] NOT NULL,
    -- The union of the counted time inside the day (cumulative types).
    counted_nanos   bigint             NOT NULL,
    devices         text[]             NOT NULL,
    -- Latest-value types: the day's latest sample.
    latest_start    timestamptz,
    latest_id       text,
    latest_value    double precision,
    PRIMARY KEY (user_id, sample_type, day_start),
    CHECK (cardinality(shared_ids) = cardinality(shared_amounts))
);

-- A partial holds sums of sample values, so it does not outlive them: `healthpipe retention`
-- removes the days starting before the raw-sample horizon (weeks and months beginning before
-- it are frozen and never combined again). This index finds them without reading every
-- partial; a replay has nothing to copy for them (`healthpipe_replay_copy_frozen` copies
-- only aggregates).
CREATE INDEX IF NOT EXISTS day_partials_day_start_idx ON day_partials (day_start);
