//! Insight rules: what a user's recent day and hour rows say that is worth telling them.
//!
//! [`evaluate`] runs every rule over a [`RuleInputs`] snapshot and returns one [`Outcome`] per
//! rule and window it evaluated: `Some` finding when the condition holds, `None` when it was
//! checked and does not (too little data included), so the caller can raise, update or resolve
//! the one active insight of each `rule_key`. A rule with nothing to check right now (the
//! activity comparison early in the week) returns no outcome, and the caller leaves alone
//! whatever it raised before. What an outcome does to that insight is [`lifecycle`].
//!
//! Pure: no clock (the caller passes `as_of`, an event time, so replaying the same events
//! gives the same insights) and no I/O. Calendar arithmetic is on local dates of the user's
//! zone, never on 24-hour steps, so a 23- or 25-hour day is one day like any other.
//!
//! The rules (values in the canonical units of [`SampleType`]):
//!
//! - `HEART_RATE_TREND`: least-squares slope of the daily resting heart
//!   rate over the last 30 local days, by calendar day, beyond ±0.5 bpm per day;
//! - `ACTIVITY_CHANGE`: this ISO week's steps so far against the four
//!   previous weeks, pro-rated to the complete days elapsed, by 20 % or more;
//! - alerts, per changed local day, low blood oxygen, low or high glucose, high or low
//!   resting heart rate;
//! - `SHORT_SLEEP`: under 6 hours of sleep on average over the last 7 complete
//!   noon-to-noon nights.

mod activity_change;
mod alerts;
mod heart_rate_trend;
pub mod lifecycle;
mod short_sleep;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::sample_type::SampleType;

/// One day row of a type: the aggregation's `day` bucket in the user's zone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayRow {
    /// The local date of the bucket. The rules go by the key of the map holding the row,
    /// which the caller builds from this date.
    pub date: NaiveDate,
    /// Sum (steps) or mean of the readings (heart rate, oxygen, glucose).
    pub value: f64,
    pub min_value: f64,
    pub max_value: f64,
    /// Distinct samples counted in the day: the coverage the alerts check.
    pub sample_count: u32,
}

/// One hour row of SLEEP_ANALYSIS: minutes asleep counted in that local hour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HourRow {
    /// The start instant of the local hour (the aggregation's `period_start`).
    pub start: DateTime<Utc>,
    pub value: f64,
}

/// Everything the rules read for one user, as of one instant.
#[derive(Debug, Clone, Copy)]
pub struct RuleInputs<'a> {
    /// The user's zone: it decides which local day, week and night an instant belongs to.
    pub tz: Tz,
    /// The instant the evaluation happens "as of": an event time, never the wall clock.
    pub as_of: DateTime<Utc>,
    /// Day rows per type, keyed by local date. Read: RESTING_HEART_RATE, STEPS,
    /// OXYGEN_SATURATION, BLOOD_GLUCOSE; a missing type or date is a day without data.
    pub days: &'a HashMap<SampleType, BTreeMap<NaiveDate, DayRow>>,
    /// SLEEP_ANALYSIS hour rows, in any order.
    pub sleep_hours: &'a [HourRow],
    /// Local days whose rows just changed or disappeared: the per-day alerts are evaluated
    /// for these days only, so an old day is not re-alerted on every evaluation.
    pub changed_days: &'a BTreeSet<NaiveDate>,
}

impl RuleInputs<'_> {
    /// The local date of `as_of`.
    fn today(&self) -> NaiveDate {
        self.as_of.with_timezone(&self.tz).date_naive()
    }

    /// The day rows of `sample_type`, if any.
    fn days_of(&self, sample_type: SampleType) -> Option<&BTreeMap<NaiveDate, DayRow>> {
        self.days.get(&sample_type)
    }

    /// The row of `sample_type` on `date`, if any.
    fn day(&self, sample_type: SampleType, date: NaiveDate) -> Option<&DayRow> {
        self.days_of(sample_type)?.get(&date)
    }
}

/// One rule evaluated for one window.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The condition and its window, stable across evaluations (`ACTIVITY_CHANGE/2026-W48`,
    /// `LOW_OXYGEN/2026-11-27`, `HEART_RATE_TREND/rising`, `SHORT_SLEEP/rolling`). The caller
    /// keeps at most one active insight per key.
    pub rule_key: String,
    /// `Some`: the condition holds (raise or update the insight). `None`: it was checked and
    /// does not hold, or there was too little data to tell (resolve an active one, if any).
    pub firing: Option<Finding>,
}

impl Outcome {
    fn firing(rule_key: String, finding: Finding) -> Self {
        Outcome {
            rule_key,
            firing: Some(finding),
        }
    }

    fn quiet(rule_key: String) -> Self {
        Outcome {
            rule_key,
            firing: None,
        }
    }
}

/// A condition that holds, ready to be shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// `HEART_RATE_TREND`, `ACTIVITY_CHANGE`, `LOW_OXYGEN`, ..., `SHORT_SLEEP`.
    pub insight_type: &'static str,
    pub severity: Severity,
    pub direction: Option<Direction>,
    /// Human readable, with the numbers and their units; describes, never diagnoses.
    pub message: String,
    /// Short, general advice; never a diagnosis.
    pub recommendation: String,
    /// The numbers behind the finding, a JSON object: the values, the window and the coverage
    /// that was checked against its minimum.
    pub data: serde_json::Value,
}

/// How urgent a finding is. Serialized lowercase, as in the insights table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// A severity name that is not `info`, `warning` or `critical`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity \"{name}\"; known: info, warning, critical")]
pub struct UnknownSeverity {
    pub name: String,
}

impl std::str::FromStr for Severity {
    type Err = UnknownSeverity;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Severity::Info, Severity::Warning, Severity::Critical]
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownSeverity { name: s.to_owned() })
    }
}

/// Which way a value moved or lies from its threshold. Serialized lowercase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Up,
    Down,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }
}

/// A direction name that is not `up` or `down`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown direction \"{name}\"; known: up, down")]
pub struct UnknownDirection {
    pub name: String,
}

impl std::str::FromStr for Direction {
    type Err = UnknownDirection;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Direction::Up, Direction::Down]
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownDirection { name: s.to_owned() })
    }
}

/// Every rule over `inputs`, in a fixed order: heart-rate trend (rising, then falling),
/// activity change, the alerts (by changed day, then alert), short sleep.
pub fn evaluate(inputs: &RuleInputs) -> Vec<Outcome> {
    let mut outcomes = heart_rate_trend::evaluate(inputs);
    outcomes.extend(activity_change::evaluate(inputs));
    outcomes.extend(alerts::evaluate(inputs));
    outcomes.push(short_sleep::evaluate(inputs));
    outcomes
}

/// `value` rounded to one decimal, without a trailing `.0`: `62`, `0.8`, `5.3`.
fn one_decimal(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

/// A whole count with thousands separators: `25,200`.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.round().abs());
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if value.round() < 0.0 {
        format!("-{grouped}")
    } else {
        grouped
    }
}

#[cfg(test)]
mod test_support;

#[cfg(test)]
#[path = "insights_tests.rs"]
mod tests;
