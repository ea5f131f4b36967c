//! The projections the processors materialise from the log, each written in the batch
//! transaction that also advances the group's [`offsets`].
//!
//! Modules by the tables they own: [`samples`] (samples, the sample index, sync versions),
//! [`aggregates`], [`profiles`] (time zones, device rankings), [`insights`] (their inputs,
//! evaluations, acknowledgements), [`shares`] (share grants) and [`ticks`] (the insights
//! processor's day ticks).

pub mod aggregates;
pub mod erasure;
pub mod insights;
pub mod offsets;
pub mod profiles;
pub mod samples;
pub mod shares;
pub mod ticks;
