//! The closed set of sample types and everything the pipeline needs to know about each.
//!
//! All per-type facts live in ONE table, [`TYPES`], so adding a type is one enum variant plus
//! one table line. The serialized name of a type (its SCREAMING_SNAKE name) comes from the same
//! table, so the wire format cannot drift from the table.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::units::CanonicalUnit;

/// A kind of health measurement. Serialized as its SCREAMING_SNAKE name (`"HEART_RATE"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum SampleType {
    Steps,
    Distance,
    ActiveEnergy,
    BasalEnergy,
    FlightsClimbed,
    SleepAnalysis,
    HeartRate,
    RestingHeartRate,
    HeartRateVariability,
    BloodGlucose,
    OxygenSaturation,
    RespiratoryRate,
    BodyTemperature,
    BloodPressureSystolic,
    BloodPressureDiastolic,
    Weight,
    BodyFat,
    Height,
}

/// How the samples of a type combine into one bucket value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AggregationKind {
    /// Amounts that add up over time (steps, energy, sleep minutes): sum, pro-rated by time.
    Cumulative,
    /// Readings of a level (heart rate, glucose): arithmetic mean of the readings.
    Discrete,
    /// Slowly changing body measurements (weight, height): the latest reading.
    Latest,
}

/// Everything the pipeline knows about one sample type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TypeSpec {
    pub sample_type: SampleType,
    /// The wire name, SCREAMING_SNAKE.
    pub name: &'static str,
    pub kind: AggregationKind,
    /// The unit every stored value of this type is in.
    pub unit: CanonicalUnit,
    /// Smallest plausible value of ONE sample, in the canonical unit (inclusive).
    pub min: f64,
    /// Largest plausible value of ONE sample, in the canonical unit (inclusive).
    pub max: f64,
    /// Longest accepted `end - start`, in seconds.
    pub max_duration_secs: i64,
}

const DAY: i64 = 24 * 60 * 60;

const fn spec(
    sample_type: SampleType,
    name: &'static str,
    kind: AggregationKind,
    unit: CanonicalUnit,
    min: f64,
    max: f64,
) -> TypeSpec {
    // Every type currently allows 24 h: cumulative samples longer than a day are summaries
    // that would smear a total over days; a discrete or latest reading spanning more than a
    // day is not a reading. A type needing another limit gets its own constructor call.
    TypeSpec {
        sample_type,
        name,
        kind,
        unit,
        min,
        max,
        max_duration_secs: DAY,
    }
}

use AggregationKind::{Cumulative, Discrete, Latest};
use CanonicalUnit as U;
use SampleType as T;

/// The table: one line per type, in declaration order of [`SampleType`] (checked at compile time).
///
/// Ranges are per sample and deliberately generous: they reject unit mistakes and garbage
/// (a heart rate of 0, a weight in grams sent as kilograms), not unusual people. Cumulative
/// maxima are what one sample of at most 24 h can hold (the 24 h cycling record is under
/// 1,000 km; 1,440 minutes is a whole day of sleep).
#[rustfmt::skip]
pub const TYPES: [TypeSpec; 18] = [
    //   type                          name                        kind        unit                        min   max
    spec(T::Steps,                  "STEPS",                    Cumulative, U::Count,                   0.0, 100_000.0),
    spec(T::Distance,               "DISTANCE",                 Cumulative, U::Meter,                   0.0, 1_000_000.0),
    spec(T::ActiveEnergy,           "ACTIVE_ENERGY",            Cumulative, U::Kilocalorie,             0.0, 20_000.0),
    spec(T::BasalEnergy,            "BASAL_ENERGY",             Cumulative, U::Kilocalorie,             0.0, 10_000.0),
    spec(T::FlightsClimbed,         "FLIGHTS_CLIMBED",          Cumulative, U::Count,                   0.0, 10_000.0),
    spec(T::SleepAnalysis,          "SLEEP_ANALYSIS",           Cumulative, U::Minute,                  0.0, 1_440.0),
    spec(T::HeartRate,              "HEART_RATE",               Discrete,   U::BeatsPerMinute,         20.0, 300.0),
    spec(T::RestingHeartRate,       "RESTING_HEART_RATE",       Discrete,   U::BeatsPerMinute,         20.0, 250.0),
    spec(T::HeartRateVariability,   "HEART_RATE_VARIABILITY",   Discrete,   U::Millisecond,             1.0, 1_000.0),
    spec(T::BloodGlucose,           "BLOOD_GLUCOSE",            Discrete,   U::MilligramPerDeciliter,  10.0, 1_000.0),
    spec(T::OxygenSaturation,       "OXYGEN_SATURATION",        Discrete,   U::Percent,                50.0, 100.0),
    spec(T::RespiratoryRate,        "RESPIRATORY_RATE",         Discrete,   U::BreathsPerMinute,        1.0, 100.0),
    spec(T::BodyTemperature,        "BODY_TEMPERATURE",         Discrete,   U::DegreeCelsius,          25.0, 45.0),
    spec(T::BloodPressureSystolic,  "BLOOD_PRESSURE_SYSTOLIC",  Discrete,   U::MillimeterOfMercury,    40.0, 300.0),
    spec(T::BloodPressureDiastolic, "BLOOD_PRESSURE_DIASTOLIC", Discrete,   U::MillimeterOfMercury,    20.0, 200.0),
    spec(T::Weight,                 "WEIGHT",                   Latest,     U::Kilogram,                1.0, 700.0),
    spec(T::BodyFat,                "BODY_FAT",                 Latest,     U::Percent,                 1.0, 80.0),
    spec(T::Height,                 "HEIGHT",                   Latest,     U::Meter,                   0.2, 3.0),
];

// `SampleType::spec` indexes the table by discriminant; refuse to compile if the order drifts.
const _: () = {
    let mut i = 0;
    while i < TYPES.len() {
        assert!(
            TYPES[i].sample_type as usize == i,
            "TYPES must follow SampleType order"
        );
        i += 1;
    }
};

impl SampleType {
    /// All types, in table order.
    pub fn all() -> impl Iterator<Item = SampleType> {
        TYPES.iter().map(|s| s.sample_type)
    }

    pub fn spec(self) -> &'static TypeSpec {
        &TYPES[self as usize]
    }

    pub fn as_str(self) -> &'static str {
        self.spec().name
    }

    pub fn kind(self) -> AggregationKind {
        self.spec().kind
    }

    pub fn canonical_unit(self) -> CanonicalUnit {
        self.spec().unit
    }

    pub fn max_duration(self) -> TimeDelta {
        TimeDelta::seconds(self.spec().max_duration_secs)
    }

    /// The start times of every sample of this type that can overlap `[from, to)`: validation
    /// refuses samples longer than [`Self::max_duration`], so they start at most one maximum
    /// duration before it. Counting a page of samples loads the samples overlapping the page.
    pub fn overlap_starts(
        self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> std::ops::Range<DateTime<Utc>> {
        from - self.max_duration()..to
    }

    /// The start times of every sample of this type that can change how `[from, to)` counts:
    /// those overlapping it (or, for discrete and latest types, starting in it) and those
    /// overlapping one of these, whose better device may take its place: the samples
    /// overlapping `[from, to)` widened by one maximum duration at its end. Recomputing
    /// aggregates and explaining a bucket load the stored samples starting in this range; a
    /// new or deleted sample changes the buckets of every sample starting in its reach.
    pub fn reach(self, from: DateTime<Utc>, to: DateTime<Utc>) -> std::ops::Range<DateTime<Utc>> {
        self.overlap_starts(from, to + self.max_duration())
    }
}

/// A type name that is not in the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown sample type \"{name}\"; known types: {}", known_names())]
pub struct UnknownSampleType {
    pub name: String,
}

fn known_names() -> String {
    TYPES.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

impl FromStr for SampleType {
    type Err = UnknownSampleType;

    /// Exact, case-sensitive match: the wire format has one spelling per type.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TYPES
            .iter()
            .find(|spec| spec.name == s)
            .map(|spec| spec.sample_type)
            .ok_or_else(|| UnknownSampleType { name: s.to_owned() })
    }
}

impl TryFrom<&str> for SampleType {
    type Error = UnknownSampleType;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl TryFrom<String> for SampleType {
    type Error = UnknownSampleType;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<SampleType> for &'static str {
    fn from(t: SampleType) -> Self {
        t.as_str()
    }
}

impl fmt::Display for SampleType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips_through_from_str_and_serde() {
        for t in SampleType::all() {
            assert_eq!(t.as_str().parse::<SampleType>(), Ok(t));
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
            assert_eq!(serde_json::from_str::<SampleType>(&json).unwrap(), t);
        }
        assert_eq!(SampleType::all().count(), 18);
    }

    #[test]
    fn names_are_screaming_snake() {
        assert_eq!(
            SampleType::HeartRateVariability.as_str(),
            "HEART_RATE_VARIABILITY"
        );
        assert_eq!(
            SampleType::BloodPressureDiastolic.to_string(),
            "BLOOD_PRESSURE_DIASTOLIC"
        );
    }

    #[test]
    fn unknown_name_is_an_error_naming_it() {
        let err = "heart_rate".parse::<SampleType>().unwrap_err();
        assert_eq!(err.name, "heart_rate");
        let msg = err.to_string();
        assert!(
            msg.starts_with("unknown sample type \"heart_rate\""),
            "{msg}"
        );
        assert!(msg.contains("HEART_RATE"), "{msg}");
        assert!(serde_json::from_str::<SampleType>("\"NOPE\"").is_err());
        assert!(SampleType::try_from("").is_err());
    }

    #[test]
    fn kinds_follow_the_contract() {
        use SampleType::*;
        for t in [
            Steps,
            Distance,
            ActiveEnergy,
            BasalEnergy,
            FlightsClimbed,
            SleepAnalysis,
        ] {
            assert_eq!(t.kind(), AggregationKind::Cumulative, "{t}");
        }
        for t in [Weight, BodyFat, Height] {
            assert_eq!(t.kind(), AggregationKind::Latest, "{t}");
        }
        assert_eq!(
            SampleType::all()
                .filter(|t| t.kind() == AggregationKind::Discrete)
                .count(),
            9
        );
    }

    #[test]
    fn ranges_and_durations_are_sane() {
        for spec in &TYPES {
            assert!(spec.min < spec.max, "{}", spec.name);
            assert!(spec.max_duration_secs > 0, "{}", spec.name);
        }
        assert_eq!(SampleType::HeartRate.spec().max, 300.0);
        assert_eq!(SampleType::Steps.max_duration(), TimeDelta::hours(24));
        let (from, to) = (
            DateTime::<Utc>::UNIX_EPOCH,
            DateTime::<Utc>::UNIX_EPOCH + TimeDelta::hours(1),
        );
        for t in SampleType::all() {
            let reach = t.reach(from, to);
            assert_eq!(
                (reach.start, reach.end),
                (from - t.max_duration(), to + t.max_duration())
            );
            let overlap = t.overlap_starts(from, to);
            assert_eq!((overlap.start, overlap.end), (from - t.max_duration(), to));
        }
        assert_eq!(
            SampleType::BloodGlucose.canonical_unit(),
            CanonicalUnit::MilligramPerDeciliter
        );
    }
}
