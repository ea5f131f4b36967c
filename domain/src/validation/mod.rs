//! Per-sample validation at the edge: a [`RawSample`] as a client sent it becomes a
//! [`ValidSample`] (parse, don't validate) or a [`ValidationError`] whose message goes back to
//! the client verbatim.
//!
//! A `ValidSample` can only be built here, so everything downstream may rely on: a known
//! type, a value in the canonical unit inside the type's plausible range, `start <= end`,
//! a duration within the type's maximum, and times within the accepted window.

mod error;

use chrono::{DateTime, FixedOffset, TimeDelta, TimeZone, Utc};
use serde::Serialize;

use crate::retention::Horizons;
use crate::sample_type::SampleType;
use crate::units::Unit;
pub use error::ValidationError;

/// How far in the future a sample may end: clocks of phones and watches drift.
pub const MAX_CLOCK_SKEW: TimeDelta = TimeDelta::minutes(10);

/// Earliest accepted start. Earlier dates are almost always a zeroed or mis-parsed timestamp.
pub fn earliest_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap()
}

/// A sample as a client sent it, before any check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawSample<'a> {
    pub sample_type: &'a str,
    pub value: f64,
    pub unit: &'a str,
    pub start: DateTime<FixedOffset>,
    pub end: DateTime<FixedOffset>,
}

/// A sample that passed every check. Serialize only: deserializing would bypass the checks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidSample {
    sample_type: SampleType,
    value: f64,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    start_utc_offset_secs: i32,
}

impl ValidSample {
    pub fn sample_type(&self) -> SampleType {
        self.sample_type
    }
    /// The value in the type's canonical unit.
    pub fn value(&self) -> f64 {
        self.value
    }
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }
    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }
    /// The UTC offset the client wrote `start` with, in seconds east of UTC. Kept because it
    /// is the only trace of the wall clock the user saw when the sample was taken.
    pub fn start_utc_offset_secs(&self) -> i32 {
        self.start_utc_offset_secs
    }
}

/// Checks `raw` in the order a client would fix things: what it is, its value, then its times.
pub fn validate(raw: &RawSample<'_>, now: DateTime<Utc>) -> Result<ValidSample, ValidationError> {
    let sample_type: SampleType = raw.sample_type.parse()?;
    let unit = Unit::parse(sample_type, raw.unit)?;
    if !raw.value.is_finite() {
        return Err(ValidationError::NotFinite { value: raw.value });
    }
    let value = unit.to_canonical(raw.value);
    let spec = sample_type.spec();
    if !(spec.min..=spec.max).contains(&value) {
        return Err(ValidationError::OutOfRange {
            sample_type,
            value,
            unit: spec.unit,
            min: spec.min,
            max: spec.max,
            sent: (!unit.is_canonical()).then(|| (raw.value, unit.symbol().to_owned())),
        });
    }
    if raw.end < raw.start {
        return Err(ValidationError::EndBeforeStart {
            start: raw.start,
            end: raw.end,
        });
    }
    if raw.end.to_utc() > now + MAX_CLOCK_SKEW {
        return Err(ValidationError::EndInFuture { end: raw.end, now });
    }
    if raw.start.to_utc() < earliest_start() {
        return Err(ValidationError::StartTooEarly { start: raw.start });
    }
    // The processors would drop it (see `crate::retention`): say so instead of a silent 200.
    let horizon = Horizons::on(now.date_naive()).samples;
    if raw.end.to_utc() <= horizon {
        return Err(ValidationError::BeyondRetention {
            end: raw.end,
            horizon,
        });
    }
    let duration = raw.end - raw.start;
    if duration > sample_type.max_duration() {
        return Err(ValidationError::TooLong {
            sample_type,
            duration,
            max: sample_type.max_duration(),
        });
    }
    Ok(ValidSample {
        sample_type,
        value,
        start: raw.start.to_utc(),
        end: raw.end.to_utc(),
        start_utc_offset_secs: raw.start.offset().local_minus_utc(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    fn now() -> DateTime<Utc> {
        at("2026-05-04T12:00:00Z").to_utc()
    }

    fn raw<'a>(t: &'a str, value: f64, unit: &'a str, start: &str, end: &str) -> RawSample<'a> {
        RawSample {
            sample_type: t,
            value,
            unit,
            start: at(start),
            end: at(end),
        }
    }

    fn check(r: RawSample<'_>) -> Result<ValidSample, ValidationError> {
        validate(&r, now())
    }

    #[test]
    fn valid_sample_is_converted_and_keeps_the_start_offset() {
        let s = check(raw(
            "WEIGHT",
            176.0,
            "lb",
            "2026-05-04T08:00:00+02:00",
            "2026-05-04T08:00:00+02:00",
        ))
        .unwrap();
        assert_eq!(s.sample_type(), SampleType::Weight);
        assert!((s.value() - 79.832_257_12).abs() < 1e-9);
        assert_eq!(s.start(), at("2026-05-04T06:00:00Z").to_utc());
        assert_eq!(s.start_utc_offset_secs(), 7200);
        let k = check(raw(
            "STEPS",
            10.0,
            "count",
            "2026-05-04T10:00:00+05:30",
            "2026-05-04T05:00:00Z",
        ))
        .unwrap();
        assert_eq!(k.start_utc_offset_secs(), 19_800);
    }

    #[test]
    fn unknown_type_and_unit() {
        let e = check(raw(
            "PULSE",
            70.0,
            "bpm",
            "2026-05-04T08:00:00Z",
            "2026-05-04T08:00:00Z",
        ));
        assert_eq!(e.unwrap_err().code(), "unknown_type");
        let e = check(raw(
            "HEART_RATE",
            70.0,
            "Hz",
            "2026-05-04T08:00:00Z",
            "2026-05-04T08:00:00Z",
        ))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "unit \"Hz\" is not accepted for HEART_RATE; accepted units: bpm, count/min"
        );
    }

    #[test]
    fn range_is_checked_after_conversion() {
        // 700 kg is the limit; 1600 lb is 725.7 kg.
        let e = check(raw(
            "WEIGHT",
            1600.0,
            "lb",
            "2026-05-04T08:00:00Z",
            "2026-05-04T08:00:00Z",
        ))
        .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("(converted from 1600 lb)"), "{msg}");
        assert!(
            msg.ends_with("is outside the plausible range 1 to 700 kg for WEIGHT"),
            "{msg}"
        );
        // 1000 lb = 453.6 kg passes although 1000 > 700.
        assert!(check(raw(
            "WEIGHT",
            1000.0,
            "lb",
            "2026-05-04T08:00:00Z",
            "2026-05-04T08:00:00Z"
        ))
        .is_ok());
        let e = check(raw(
            "HEART_RATE",
            350.0,
            "bpm",
            "2026-05-04T08:00:00Z",
            "2026-05-04T08:00:00Z",
        ))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "value 350 bpm is outside the plausible range 20 to 300 bpm for HEART_RATE"
        );
    }

    #[test]
    fn percent_sent_as_fraction_gets_a_hint() {
        let e = check(raw(
            "OXYGEN_SATURATION",
            0.97,
            "%",
            "2026-05-04T08:00:00Z",
            "2026-05-04T08:00:00Z",
        ))
        .unwrap_err();
        assert!(e.to_string().ends_with("send the unit \"fraction\""), "{e}");
        let ok = check(raw(
            "OXYGEN_SATURATION",
            0.97,
            "fraction",
            "2026-05-04T08:00:00Z",
            "2026-05-04T08:00:00Z",
        ));
        assert_eq!(ok.unwrap().value(), 97.0);
    }

    #[test]
    fn non_finite_values_are_rejected() {
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let e = check(raw(
                "STEPS",
                v,
                "count",
                "2026-05-04T08:00:00Z",
                "2026-05-04T08:01:00Z",
            ));
            assert_eq!(e.unwrap_err().code(), "value_not_finite");
        }
    }

    #[test]
    fn time_checks() {
        let e = check(raw(
            "STEPS",
            1.0,
            "count",
            "2026-05-04T08:00:00Z",
            "2026-05-04T09:59:00+02:00",
        ));
        assert_eq!(e.unwrap_err().code(), "end_before_start");
        // Exactly 10 minutes ahead is accepted, one second more is not.
        assert!(check(raw(
            "STEPS",
            1.0,
            "count",
            "2026-05-04T12:00:00Z",
            "2026-05-04T12:10:00Z"
        ))
        .is_ok());
        let e = check(raw(
            "STEPS",
            1.0,
            "count",
            "2026-05-04T12:00:00Z",
            "2026-05-04T14:10:01+02:00",
        ));
        assert_eq!(e.unwrap_err().code(), "end_in_future");
        let e = check(raw(
            "STEPS",
            1.0,
            "count",
            "2000-01-01T00:30:00+01:00",
            "2000-01-01T00:30:00Z",
        ));
        assert_eq!(e.unwrap_err().code(), "start_too_early");
        // The earliest start itself is accepted (on a day it is still within retention).
        let in_2000 = at("2000-06-01T00:00:00Z").to_utc();
        let first = raw(
            "STEPS",
            1.0,
            "count",
            "2000-01-01T00:00:00Z",
            "2000-01-01T00:00:00Z",
        );
        assert!(validate(&first, in_2000).is_ok());
    }

    /// Samples the processors would drop as older than the retention period are refused with
    /// a reason, on both sides of the horizon (2019-05-04T00:00Z on 2026-05-04).
    #[test]
    fn samples_beyond_retention_are_refused() {
        let e = check(raw(
            "STEPS",
            1.0,
            "count",
            "2019-05-03T23:00:00Z",
            "2019-05-04T00:00:00Z",
        ))
        .unwrap_err();
        assert_eq!(e.code(), "beyond_retention");
        assert!(e.to_string().contains("7 years"), "{e}");
        assert!(check(raw(
            "STEPS",
            1.0,
            "count",
            "2019-05-03T23:00:00Z",
            "2019-05-04T00:00:01Z"
        ))
        .is_ok());
    }

    #[test]
    fn duration_is_limited_per_type() {
        assert!(check(raw(
            "STEPS",
            1.0,
            "count",
            "2026-05-03T08:00:00Z",
            "2026-05-04T08:00:00Z"
        ))
        .is_ok());
        let e = check(raw(
            "SLEEP_ANALYSIS",
            60.0,
            "min",
            "2026-05-03T08:00:00Z",
            "2026-05-04T09:30:00+01:00",
        ))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the sample lasts 1 d 30 min, longer than the 1 d allowed for SLEEP_ANALYSIS"
        );
    }
}
