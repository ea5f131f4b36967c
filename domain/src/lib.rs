//! Pure health-data domain logic for healthpipe: no I/O, no async, no clock of its own.
//!
//! Two kinds of callers share these rules so that they cannot disagree:
//!
//! - the **gateway** validates what clients send: [`validate`] turns a [`RawSample`] into a
//!   [`ValidSample`] (known [`SampleType`], value converted to the canonical unit by [`Unit`]
//!   and inside the type's plausible range, sane times) or a [`ValidationError`] whose message
//!   goes back to the client;
//! - the **processors** turn a user's stored samples into aggregate rows: [`dedup`] decides what
//!   of each sample counts when devices overlap (ranked by [`DeviceRanking`]), [`buckets`]
//!   places instants and ranges in the user's local hours, days, ISO weeks and months, and
//!   [`aggregate`] produces the [`AggregateRow`]s (with their coverage: counted share of the
//!   bucket's time, contributing devices). [`aggregate_user`] does clean-up and all steps;
//! - the **gateway's explain API** asks [`explain_bucket`] which samples one bucket considered,
//!   what each counted there and why.
//!
//! - everyone names things by the same closed sets and typed identities: [`UserId`],
//!   [`DeviceId`], [`SampleId`], [`EventId`] (UUIDs that cannot be swapped for one another),
//!   [`DeviceType`] with the one table of default [`Priority`]s, [`Role`], [`Period`] and
//!   [`SampleType`]; each parses from its wire string with an error naming what failed.
//!
//! The deduplication and aggregation rules are the contract in the shared `dedup-cases`
//! README; `tests/golden_cases.rs` runs every case in that folder.
//!
//! ```
//! use std::collections::HashSet;
//! use chrono::{TimeZone, Utc};
//! use healthpipe_domain::{aggregate_user, DeviceRanking, Period, Sample, SampleType};
//!
//! let mut ranking = DeviceRanking::new();
//! ranking.set_priority("watch", 100).set_priority("phone", 50);
//! let at = |h, m| Utc.with_ymd_and_hms(2026, 5, 4, h, m, 0).unwrap();
//! let steps = |id: &str, device: &str, value, start, end| Sample {
//!     id: id.into(), device_id: device.into(), sample_type: SampleType::Steps, value, start, end,
//! };
//! // The watch covers the first half of the phone's sample, which keeps half of its steps.
//! let samples = [
//!     steps("w", "watch", 600.0, at(10, 0), at(10, 30)),
//!     steps("p", "phone", 450.0, at(10, 15), at(10, 45)),
//! ];
//! let rows = aggregate_user(&samples, &HashSet::new(), &ranking, chrono_tz::Europe::Berlin);
//! let hour = rows.iter().find(|r| r.period == Period::Hour).unwrap();
//! assert_eq!((hour.value, hour.min_value, hour.sample_count), (825.0, 225.0, 2));
//! ```

pub mod aggregate;
pub mod buckets;
pub mod day_partial;
pub mod dedup;
pub mod device_type;
pub mod explain;
pub mod ids;
pub mod insights;
pub mod priority;
pub mod ranking;
pub mod retention;
pub mod role;
pub mod sample;
pub mod sample_type;
pub mod sharing;
mod time;
pub mod units;
pub mod validation;

pub use aggregate::{
    aggregate, aggregate_days, aggregate_user, aggregate_user_days, combine, AggregateRow,
};
pub use buckets::{
    bucket_start, day_start, next_bucket_start, split_amount, split_range, BucketSpan, Bucketer,
    Period, UnknownPeriod,
};
pub use day_partial::{DayPartial, Latest};
pub use dedup::{dedup, Counted, Deduplicated, Piece, Reason, SampleOutcome};
pub use device_type::{DeviceType, DeviceTypeSpec, UnknownDeviceType, DEVICE_TYPES};
pub use explain::{explain_bucket, BucketExplanation, SampleExplanation};
pub use ids::{
    parse_uuid, DeviceId, EventId, IdKind, InvalidId, SampleId, UserId, SAMPLE_ID_NAMESPACE,
};
pub use insights::{
    evaluate as evaluate_insights, DayRow, Direction, Finding, HourRow, Outcome, RuleInputs,
    Severity, UnknownDirection, UnknownSeverity,
};
pub use priority::Priority;
pub use ranking::{DevicePriority, DeviceRanking};
pub use retention::Horizons;
pub use role::{Role, UnknownRole};
pub use sample::{clean_up, sync_replacement, Sample, SyncReplacement};
pub use sample_type::{AggregationKind, SampleType, TypeSpec, UnknownSampleType, TYPES};
pub use units::{accepted_units, to_canonical, CanonicalUnit, Unit, UnknownUnit};
pub use validation::{validate, RawSample, ValidSample, ValidationError};
