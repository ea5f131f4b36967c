//! Units: the canonical unit of each type and the conversions into it.
//!
//! Values are stored only in the canonical unit of their type, so aggregation never mixes
//! miles and metres. A unit string is accepted only if it is listed for the type's canonical
//! unit below; anything else is an error, never a guess (an ambiguous "cal" could be a
//! kilocalorie or a thousandth of one, so it is not accepted at all).
//!
//! Percent types (OXYGEN_SATURATION, BODY_FAT): "%" and "percent" mean 0-100, "fraction" means
//! 0-1. Apple Health exports these types with unit "%" but a 0-1 value (body fat
//! `unit="%" value="0.161"`); a client importing such an export must send "fraction". The
//! plausible-range check turns a forgotten mapping into a clear error instead of a stored 0.16 %.

use std::fmt;

use serde::Serialize;

use crate::sample_type::SampleType;

/// The unit a type's values are stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "&'static str")]
pub enum CanonicalUnit {
    Count,
    Meter,
    Kilocalorie,
    Minute,
    BeatsPerMinute,
    Millisecond,
    MilligramPerDeciliter,
    Percent,
    BreathsPerMinute,
    DegreeCelsius,
    MillimeterOfMercury,
    Kilogram,
}

impl CanonicalUnit {
    pub fn symbol(self) -> &'static str {
        match self {
            CanonicalUnit::Count => "count",
            CanonicalUnit::Meter => "m",
            CanonicalUnit::Kilocalorie => "kcal",
            CanonicalUnit::Minute => "min",
            CanonicalUnit::BeatsPerMinute => "bpm",
            CanonicalUnit::Millisecond => "ms",
            CanonicalUnit::MilligramPerDeciliter => "mg/dL",
            CanonicalUnit::Percent => "percent",
            CanonicalUnit::BreathsPerMinute => "breaths/min",
            CanonicalUnit::DegreeCelsius => "degC",
            CanonicalUnit::MillimeterOfMercury => "mmHg",
            CanonicalUnit::Kilogram => "kg",
        }
    }
}

impl From<CanonicalUnit> for &'static str {
    fn from(u: CanonicalUnit) -> Self {
        u.symbol()
    }
}

impl fmt::Display for CanonicalUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// How a value in an accepted unit becomes a value in the canonical unit.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Conversion {
    Multiply(f64),
    /// Kept separate from `Multiply(1/x)` so that e.g. 4.184 kJ is exactly 1 kcal.
    Divide(f64),
    FahrenheitToCelsius,
}

impl Conversion {
    fn apply(self, value: f64) -> f64 {
        match self {
            Conversion::Multiply(f) => value * f,
            Conversion::Divide(d) => value / d,
            Conversion::FahrenheitToCelsius => (value - 32.0) * 5.0 / 9.0,
        }
    }
}

use CanonicalUnit as C;
use Conversion::{Divide, FahrenheitToCelsius, Multiply};

const ONE: Conversion = Multiply(1.0);

/// Accepted unit symbols per canonical unit (case-sensitive: "Cal" is a kilocalorie).
/// The canonical symbol itself is always listed first.
const ACCEPTED: &[(CanonicalUnit, &str, Conversion)] = &[
    (C::Count, "count", ONE),
    (C::Meter, "m", ONE),
    (C::Meter, "km", Multiply(1000.0)),
    (C::Meter, "cm", Divide(100.0)),
    (C::Meter, "mi", Multiply(1609.344)),
    (C::Meter, "yd", Multiply(0.9144)),
    (C::Meter, "ft", Multiply(0.3048)),
    (C::Meter, "in", Multiply(0.0254)),
    (C::Kilocalorie, "kcal", ONE),
    (C::Kilocalorie, "Cal", ONE),
    (C::Kilocalorie, "kJ", Divide(4.184)),
    (C::Minute, "min", ONE),
    (C::Minute, "h", Multiply(60.0)),
    (C::Minute, "hr", Multiply(60.0)),
    (C::Minute, "s", Divide(60.0)),
    (C::BeatsPerMinute, "bpm", ONE),
    (C::BeatsPerMinute, "count/min", ONE),
    (C::Millisecond, "ms", ONE),
    (C::Millisecond, "s", Multiply(1000.0)),
    (C::MilligramPerDeciliter, "mg/dL", ONE),
    (C::MilligramPerDeciliter, "mmol/L", Multiply(18.0156)),
    (C::Percent, "percent", ONE),
    (C::Percent, "%", ONE),
    (C::Percent, "fraction", Multiply(100.0)),
    (C::BreathsPerMinute, "breaths/min", ONE),
    (C::BreathsPerMinute, "count/min", ONE),
    (C::DegreeCelsius, "degC", ONE),
    (C::DegreeCelsius, "degF", FahrenheitToCelsius),
    (C::MillimeterOfMercury, "mmHg", ONE),
    (C::Kilogram, "kg", ONE),
    (C::Kilogram, "g", Divide(1000.0)),
    (C::Kilogram, "lb", Multiply(0.453_592_37)),
    (C::Kilogram, "st", Multiply(6.350_293_18)),
];

/// A unit that has been checked to be acceptable for one sample type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unit {
    symbol: &'static str,
    canonical: CanonicalUnit,
    conversion: Conversion,
}

/// A unit string that is not accepted for the sample type it came with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unit \"{unit}\" is not accepted for {sample_type}; accepted units: {}", accepted_units(*.sample_type).join(", "))]
pub struct UnknownUnit {
    pub unit: String,
    pub sample_type: SampleType,
}

/// The unit symbols accepted for a type, canonical first.
pub fn accepted_units(sample_type: SampleType) -> Vec<&'static str> {
    let canonical = sample_type.canonical_unit();
    ACCEPTED
        .iter()
        .filter(|(c, _, _)| *c == canonical)
        .map(|(_, s, _)| *s)
        .collect()
}

impl Unit {
    /// Parses `symbol` (surrounding whitespace ignored) as a unit of `sample_type`.
    pub fn parse(sample_type: SampleType, symbol: &str) -> Result<Unit, UnknownUnit> {
        let canonical = sample_type.canonical_unit();
        let wanted = symbol.trim();
        ACCEPTED
            .iter()
            .find(|(c, s, _)| *c == canonical && *s == wanted)
            .map(|&(canonical, symbol, conversion)| Unit {
                symbol,
                canonical,
                conversion,
            })
            .ok_or_else(|| UnknownUnit {
                unit: symbol.to_owned(),
                sample_type,
            })
    }

    pub fn symbol(&self) -> &'static str {
        self.symbol
    }

    pub fn canonical(&self) -> CanonicalUnit {
        self.canonical
    }

    pub fn is_canonical(&self) -> bool {
        self.symbol == self.canonical.symbol()
    }

    /// `value` (in this unit) expressed in the canonical unit.
    pub fn to_canonical(&self, value: f64) -> f64 {
        self.conversion.apply(value)
    }
}

/// Shorthand for [`Unit::parse`] then [`Unit::to_canonical`].
pub fn to_canonical(sample_type: SampleType, value: f64, unit: &str) -> Result<f64, UnknownUnit> {
    Ok(Unit::parse(sample_type, unit)?.to_canonical(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use SampleType as T;

    fn conv(t: SampleType, value: f64, unit: &str) -> f64 {
        to_canonical(t, value, unit).unwrap()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn lengths_to_metres() {
        assert_eq!(conv(T::Distance, 1.0, "mi"), 1609.344);
        assert_eq!(conv(T::Distance, 1.0, "ft"), 0.3048);
        assert_eq!(conv(T::Distance, 1.0, "yd"), 0.9144);
        assert_eq!(conv(T::Distance, 2.5, "km"), 2500.0);
        assert_eq!(conv(T::Height, 180.0, "cm"), 1.8);
        assert!(close(conv(T::Height, 70.0, "in"), 1.778));
        assert_eq!(conv(T::Height, 1.8, "m"), 1.8);
    }

    #[test]
    fn masses_to_kilograms() {
        assert_eq!(conv(T::Weight, 1.0, "lb"), 0.453_592_37);
        assert_eq!(conv(T::Weight, 1.0, "st"), 6.350_293_18);
        assert_eq!(conv(T::Weight, 80_500.0, "g"), 80.5);
        // 1 st = 14 lb exactly.
        assert!(close(
            conv(T::Weight, 1.0, "st"),
            conv(T::Weight, 14.0, "lb")
        ));
    }

    #[test]
    fn energy_glucose_temperature() {
        assert_eq!(conv(T::ActiveEnergy, 4.184, "kJ"), 1.0);
        assert!(close(conv(T::ActiveEnergy, 1.0, "kJ"), 1.0 / 4.184));
        assert_eq!(conv(T::BasalEnergy, 12.5, "Cal"), 12.5);
        assert!(close(conv(T::BloodGlucose, 5.5, "mmol/L"), 99.0858));
        assert_eq!(conv(T::BodyTemperature, 212.0, "degF"), 100.0);
        assert_eq!(conv(T::BodyTemperature, 32.0, "degF"), 0.0);
        assert!(close(conv(T::BodyTemperature, 98.6, "degF"), 37.0));
    }

    #[test]
    fn times_and_rates() {
        assert_eq!(conv(T::SleepAnalysis, 1.5, "h"), 90.0);
        assert_eq!(conv(T::SleepAnalysis, 2.0, "hr"), 120.0);
        assert_eq!(conv(T::SleepAnalysis, 90.0, "s"), 1.5);
        // "s" means something else for HRV, whose canonical unit is the millisecond.
        assert_eq!(conv(T::HeartRateVariability, 0.045, "s"), 45.0);
        assert_eq!(conv(T::HeartRate, 72.0, "count/min"), 72.0);
        assert_eq!(conv(T::RespiratoryRate, 14.0, "count/min"), 14.0);
    }

    #[test]
    fn percent_and_fraction() {
        assert_eq!(conv(T::OxygenSaturation, 97.0, "%"), 97.0);
        assert_eq!(conv(T::OxygenSaturation, 97.0, "percent"), 97.0);
        assert_eq!(conv(T::BodyFat, 0.215, "fraction"), 21.5);
    }

    #[test]
    fn canonical_unit_is_always_accepted() {
        for t in SampleType::all() {
            let unit = Unit::parse(t, t.canonical_unit().symbol()).unwrap();
            assert!(unit.is_canonical(), "{t}");
            assert_eq!(unit.to_canonical(42.0), 42.0);
            assert_eq!(accepted_units(t)[0], t.canonical_unit().symbol());
        }
    }

    #[test]
    fn unknown_unit_names_unit_and_type() {
        let err = Unit::parse(T::Weight, "lbs").unwrap_err();
        assert_eq!(err.unit, "lbs");
        assert_eq!(
            err.to_string(),
            "unit \"lbs\" is not accepted for WEIGHT; accepted units: kg, g, lb, st"
        );
        // Units of another dimension are not accepted either.
        assert!(Unit::parse(T::Steps, "km").is_err());
        assert!(Unit::parse(T::ActiveEnergy, "cal").is_err());
        assert!(Unit::parse(T::HeartRate, "count").is_err());
    }

    #[test]
    fn whitespace_around_the_symbol_is_ignored() {
        assert_eq!(Unit::parse(T::Weight, " kg ").unwrap().symbol(), "kg");
    }
}
