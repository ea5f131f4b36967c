//! What one local day contributes to the week and the month holding it.
//!
//! Weeks and months are made of whole local days (both start at a local midnight), so their
//! rows can be combined from per-day partials instead of from every sample they hold: a late
//! sample or a new day then costs the samples of its days, not of its month. A partial keeps
//! exactly what combining needs and a day row alone does not tell:
//!
//! - the samples counted in this day only, with the min and max of their contributions;
//! - the cumulative samples whose range spans other days too (a night of sleep, a long walk)
//!   with their amount in this day, since their contribution to a week is the sum of their
//!   days (by their range, not by where they ended up counted, which would depend on samples
//!   beyond the day's reach);
//! - the counted time (days do not overlap, so the union over a week is the sum of its days);
//! - the contributing devices, and for latest-value types the day's latest sample.
//!
//! [`crate::aggregate`] builds week and month rows only this way, so the processor (which
//! stores partials and combines them) and a computation from samples (the explain API, the
//! tests' expectations) get the same bits.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::sample_type::SampleType;

type Instant = DateTime<Utc>;

/// One (type, local day) of one user, as weeks and months need it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayPartial {
    pub sample_type: SampleType,
    /// The start of the local day.
    pub day_start: Instant,
    /// The sum of every counted sample's contribution, in canonical order (the day row's
    /// sum; for discrete types the sum of the values).
    pub sum: f64,
    /// Counted samples whose range lies in this day alone.
    pub whole_count: u32,
    /// The smallest and largest contribution of those samples (`None` without any).
    pub whole_min: Option<f64>,
    pub whole_max: Option<f64>,
    /// Counted cumulative samples whose range spans other days too: id and amount inside
    /// this day.
    pub shared: Vec<(String, f64)>,
    /// Cumulative types: the length of the union of the counted time inside the day.
    pub counted_nanos: i64,
    /// The devices with a sample counted in the day, each once, sorted.
    pub devices: Vec<String>,
    /// Latest-value types: the day's latest counted sample.
    pub latest: Option<Latest>,
}

/// A day's latest-value sample. Between days the later start wins; the device rank that
/// breaks ties of equal start and end within a day is not kept, since it depends on which
/// devices the computation saw, and two days' candidates never start at the same instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latest {
    pub start: Instant,
    pub id: String,
    pub value: f64,
}
