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
