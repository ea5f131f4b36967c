//! The projections the processors materialise from the log, each written in the batch
//! transaction that also advances the group's [`offsets`].
//!
//! Modules by the tables they own: [`samples`] (samples, the sample index, sync versions),
//! [`aggregates`], [`day_partials`] (what each day contributes to its week and month),
//! [`profiles`] (time zones, device rankings), [`insights`] (their inputs, evaluations,
//! acknowledgements), [`shares`] (share grants) and [`ticks`] (the insights processor's day
//! ticks).

pub mod aggregates;
pub mod day_partials;
pub mod erasure;
pub mod insights;
pub mod offsets;
pub mod profiles;
pub mod samples;
pub mod shares;
pub mod ticks;

use chrono::{DateTime, Utc};

/// The earliest start and the latest end of `spans` (`None` for none). A statement that
/// takes its rows' times from arrays passes these two beside them as scalars: only scalars
/// let TimescaleDB leave out the chunks no row can be in, so that the statement's cost
/// follows what it touches instead of how much history the hypertable holds.
fn time_bounds(
    spans: impl IntoIterator<Item = (DateTime<Utc>, DateTime<Utc>)>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    spans
        .into_iter()
        .fold(None, |bounds, (start, end)| match bounds {
            None => Some((start, end)),
            Some((first, last)) => Some((first.min(start), last.max(end))),
        })
}

/// The tables the aggregation processor writes (besides its positions in `consumer_offsets`):
/// what a replay of that projection rebuilds and swaps in.
pub const AGGREGATION_TABLES: [&str; 8] = [
    "samples",
    "sample_index",
    "sync_versions",
    "aggregates",
    "day_partials",
    "device_rankings",
    "user_profiles",
    "share_grants",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_bounds_are_the_earliest_start_and_the_latest_end() {
        let at = |h: i64| DateTime::from_timestamp(h * 3600, 0).unwrap();
        assert_eq!(time_bounds([]), None);
        assert_eq!(time_bounds([(at(5), at(5))]), Some((at(5), at(5))));
        assert_eq!(
            time_bounds([
                (at(5), at(6)),
                (at(2), at(3)),
                (at(7), at(9)),
                (at(4), at(8))
            ]),
            Some((at(2), at(9)))
        );
    }
}
