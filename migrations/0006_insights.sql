-- Insights: what the insights processor concluded from a user's aggregates, and the user's
-- acknowledgements. Like every projection, a pure function of the topics: replaying them into
-- an empty database gives the same rows.

-- Acknowledgements, projected by the aggregation processor from `InsightAcknowledged` events
-- on the user-event topic (the gateway only appends the event). The first one wins. Kept apart
-- from `insights` so that an acknowledgement replayed before its insight is re-derived is not
-- lost: the read side joins the two.
CREATE TABLE IF NOT EXISTS insight_acknowledgements (
    user_id          uuid        NOT NULL,
    insight_id       uuid        NOT NULL,
    acknowledged_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, insight_id)
);

-- The insights processor's view of each user: the time zone its calendar rules use and the
-- event time of the latest evaluation (rules never evaluate as of an earlier instant, so a
-- late tick cannot undo a newer result). `tick_sent` is the ticker's own bookkeeping, not
-- derived from the log: the local day it last published a day tick for.
CREATE TABLE IF NOT EXISTS insight_users (
    user_id       uuid        PRIMARY KEY,
    timezone      text        NOT NULL,
    evaluated_at  timestamptz NOT NULL,
    tick_sent     date
);

-- The aggregate rows the rules read, copied from `AggregatesUpdated` events (day rows of the
-- rule types, hour rows of SLEEP_ANALYSIS for noon-to-noon nights). The insights processor
-- keeps its own copy so that its results depend only on the events it consumed, in order.
CREATE TABLE IF NOT EXISTS insight_inputs (
    user_id       uuid             NOT NULL,
    sample_type   text             NOT NULL,
    period        text             NOT NULL CHECK (period IN ('hour', 'day')),
    period_start  timestamptz      NOT NULL,
    value         double precision NOT NULL,
    min_value     double precision NOT NULL,
    max_value     double precision NOT NULL,
    sample_count  integer          NOT NULL,
    PRIMARY KEY (user_id, sample_type, period, period_start)
);

-- One row per insight. `rule_key` names the condition and its window (e.g.
-- `ACTIVITY_CHANGE/2026-W48`, `LOW_OXYGEN/2026-11-27`, `HEART_RATE_TREND/rising`): the same
-- condition for the same window updates its active row; a condition that clears marks it
-- `resolved`; one that comes back after that is a new insight.
CREATE TABLE IF NOT EXISTS insights (
    user_id         uuid        NOT NULL,
    insight_id      uuid        NOT NULL,
    rule_key        text        NOT NULL,
    insight_type    text        NOT NULL,
    severity        text        NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    status          text        NOT NULL CHECK (status IN ('active', 'resolved')),
    direction       text        CHECK (direction IN ('up', 'down')),
    message         text        NOT NULL,
    recommendation  text        NOT NULL,
    data            jsonb       NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (user_id, insight_id)
);
CREATE INDEX IF NOT EXISTS insights_user_updated_idx ON insights (user_id, updated_at DESC);
-- At most one active insight per condition and window.
CREATE UNIQUE INDEX IF NOT EXISTS insights_active_rule_idx
    ON insights (user_id, rule_key) WHERE status = 'active';

-- The raw-samples read path pages by (start_time, sample_id) within one user and type.
CREATE INDEX IF NOT EXISTS samples_user_type_start_id_idx
    ON samples (user_id, sample_type, start_time, sample_id);
