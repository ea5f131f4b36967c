//! The errors of sample validation. Their Display text goes back to API clients verbatim, so
//! each says what is wrong in plain words; `code()` gives the stable machine-readable name.

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};

use crate::sample_type::{SampleType, UnknownSampleType};
use crate::units::{CanonicalUnit, UnknownUnit};
use crate::validation::{earliest_start, MAX_CLOCK_SKEW};

/// What is wrong with a sample. The Display text is meant for API clients.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValidationError {
    #[error(transparent)]
    UnknownType(#[from] UnknownSampleType),
    #[error(transparent)]
    UnknownUnit(#[from] UnknownUnit),
    #[error("value must be a finite number, got {value}")]
    NotFinite { value: f64 },
    #[error("{}", out_of_range_message(self))]
    OutOfRange {
        sample_type: SampleType,
        /// The value after conversion to `unit`.
        value: f64,
        unit: CanonicalUnit,
        min: f64,
        max: f64,
        /// The value and unit as sent, when a conversion happened.
        sent: Option<(f64, String)>,
    },
    #[error("end {end} is before start {start}")]
    EndBeforeStart {
        start: DateTime<FixedOffset>,
        end: DateTime<FixedOffset>,
    },
    #[error(
        "end {end} is more than {} after the current time {now}",
        human(MAX_CLOCK_SKEW)
    )]
    EndInFuture {
        end: DateTime<FixedOffset>,
        now: DateTime<Utc>,
    },
    #[error(
        "end {end} is on or before {}, the start of the {} years of samples kept",
        .horizon.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        crate::retention::sample_years()
    )]
    BeyondRetention {
        end: DateTime<FixedOffset>,
        horizon: DateTime<Utc>,
    },
    #[error("start {start} is before {}", earliest_start().to_rfc3339_opts(chrono::SecondsFormat::Secs, true))]
    StartTooEarly { start: DateTime<FixedOffset> },
    #[error("the sample lasts {}, longer than the {} allowed for {sample_type}", human(*.duration), human(*.max))]
    TooLong {
        sample_type: SampleType,
        duration: TimeDelta,
        max: TimeDelta,
    },
}

impl ValidationError {
    /// A stable machine-readable code, for API responses and metric labels.
    pub fn code(&self) -> &'static str {
        match self {
            ValidationError::UnknownType(_) => "unknown_type",
            ValidationError::UnknownUnit(_) => "unknown_unit",
            ValidationError::NotFinite { .. } => "value_not_finite",
            ValidationError::OutOfRange { .. } => "value_out_of_range",
            ValidationError::EndBeforeStart { .. } => "end_before_start",
            ValidationError::EndInFuture { .. } => "end_in_future",
            ValidationError::StartTooEarly { .. } => "start_too_early",
            ValidationError::BeyondRetention { .. } => "beyond_retention",
            ValidationError::TooLong { .. } => "duration_too_long",
        }
    }
}

fn out_of_range_message(err: &ValidationError) -> String {
    let ValidationError::OutOfRange {
        sample_type,
        value,
        unit,
        min,
        max,
        sent,
    } = err
    else {
        unreachable!("only used for OutOfRange")
    };
    let mut msg = format!("value {value} {unit}");
    if let Some((sent_value, sent_unit)) = sent {
        msg.push_str(&format!(" (converted from {sent_value} {sent_unit})"));
    }
    msg.push_str(&format!(
        " is outside the plausible range {min} to {max} {unit} for {sample_type}"
    ));
    if *unit == CanonicalUnit::Percent && (0.0..=1.0).contains(value) {
        msg.push_str("; for a 0-1 fraction send the unit \"fraction\"");
    }
    msg
}

/// `1d 2h 3m 4s`-style text, omitting zero parts.
fn human(d: TimeDelta) -> String {
    let secs = d.num_seconds();
    let parts = [
        (secs / 86_400, "d"),
        (secs / 3600 % 24, "h"),
        (secs / 60 % 60, "min"),
        (secs % 60, "s"),
    ];
    let text: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n != 0)
        .map(|(n, u)| format!("{n} {u}"))
        .collect();
    if text.is_empty() {
        "0 s".to_owned()
    } else {
        text.join(" ")
    }
}
