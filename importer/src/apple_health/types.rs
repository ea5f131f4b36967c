//! THE mapping table from HealthKit type identifiers to our sample types, with the unit
//! strings the gateway accepts for each of our types.
//!
//! The unit lists mirror `healthpipe-domain`'s `units.rs`; the crate's tests compare them with
//! `healthpipe_domain::accepted_units` so the two cannot drift apart unnoticed. (The importer
//! does not depend on the domain crate at run time: its output is the wire format, which a
//! client may produce without our domain code.)

/// How a HealthKit record becomes a sample value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A quantity: `value` and `unit` attributes.
    Quantity,
    /// A sleep-analysis category: asleep values become their duration in minutes.
    Sleep,
}

/// One line of the table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TypeMapping {
    pub hk_type: &'static str,
    pub sample_type: &'static str,
    pub kind: Kind,
    /// Units the gateway accepts for `sample_type`.
    pub units: &'static [&'static str],
    /// HealthKit writes these types with unit "%" but a 0-1 value; they go out as "fraction".
    pub percent_is_fraction: bool,
}

const COUNT: &[&str] = &["count"];
const LENGTH: &[&str] = &["m", "km", "cm", "mi", "yd", "ft", "in"];
const ENERGY: &[&str] = &["kcal", "Cal", "kJ"];
const MINUTES: &[&str] = &["min", "h", "hr", "s"];
const BPM: &[&str] = &["bpm", "count/min"];
const MILLIS: &[&str] = &["ms", "s"];
const GLUCOSE: &[&str] = &["mg/dL", "mmol/L"];
const PERCENT: &[&str] = &["percent", "%", "fraction"];
const BREATHS: &[&str] = &["breaths/min", "count/min"];
const TEMPERATURE: &[&str] = &["degC", "degF"];
const MMHG: &[&str] = &["mmHg"];
const MASS: &[&str] = &["kg", "g", "lb", "st"];

const fn q(
    hk_type: &'static str,
    sample_type: &'static str,
    units: &'static [&'static str],
) -> TypeMapping {
    TypeMapping {
        hk_type,
        sample_type,
        kind: Kind::Quantity,
        units,
        percent_is_fraction: false,
    }
}

const fn fraction(hk_type: &'static str, sample_type: &'static str) -> TypeMapping {
    TypeMapping {
        hk_type,
        sample_type,
        kind: Kind::Quantity,
        units: PERCENT,
        percent_is_fraction: true,
    }
}

/// HealthKit identifier → our type. Types not listed here are ignored (counted, not imported).
pub(crate) const TYPE_MAP: &[TypeMapping] = &[
    q("HKQuantityTypeIdentifierStepCount", "STEPS", COUNT),
    q(
        "HKQuantityTypeIdentifierDistanceWalkingRunning",
        "DISTANCE",
        LENGTH,
    ),
    q(
        "HKQuantityTypeIdentifierActiveEnergyBurned",
        "ACTIVE_ENERGY",
        ENERGY,
    ),
    q(
        "HKQuantityTypeIdentifierBasalEnergyBurned",
        "BASAL_ENERGY",
        ENERGY,
    ),
    q(
        "HKQuantityTypeIdentifierFlightsClimbed",
        "FLIGHTS_CLIMBED",
        COUNT,
    ),
    TypeMapping {
        hk_type: "HKCategoryTypeIdentifierSleepAnalysis",
        sample_type: "SLEEP_ANALYSIS",
        kind: Kind::Sleep,
        units: MINUTES,
        percent_is_fraction: false,
    },
    q("HKQuantityTypeIdentifierHeartRate", "HEART_RATE", BPM),
    q(
        "HKQuantityTypeIdentifierRestingHeartRate",
        "RESTING_HEART_RATE",
        BPM,
    ),
    q(
        "HKQuantityTypeIdentifierHeartRateVariabilitySDNN",
        "HEART_RATE_VARIABILITY",
        MILLIS,
    ),
    q(
        "HKQuantityTypeIdentifierBloodGlucose",
        "BLOOD_GLUCOSE",
        GLUCOSE,
    ),
    fraction(
        "HKQuantityTypeIdentifierOxygenSaturation",
        "OXYGEN_SATURATION",
    ),
    q(
        "HKQuantityTypeIdentifierRespiratoryRate",
        "RESPIRATORY_RATE",
        BREATHS,
    ),
    q(
        "HKQuantityTypeIdentifierBodyTemperature",
        "BODY_TEMPERATURE",
        TEMPERATURE,
    ),
    q(
        "HKQuantityTypeIdentifierBloodPressureSystolic",
        "BLOOD_PRESSURE_SYSTOLIC",
        MMHG,
    ),
    q(
        "HKQuantityTypeIdentifierBloodPressureDiastolic",
        "BLOOD_PRESSURE_DIASTOLIC",
        MMHG,
    ),
    q("HKQuantityTypeIdentifierBodyMass", "WEIGHT", MASS),
    fraction("HKQuantityTypeIdentifierBodyFatPercentage", "BODY_FAT"),
    q("HKQuantityTypeIdentifierHeight", "HEIGHT", LENGTH),
];

/// The mapping of a HealthKit type identifier, if we import that type.
pub(crate) fn lookup(hk_type: &str) -> Option<&'static TypeMapping> {
    TYPE_MAP.iter().find(|m| m.hk_type == hk_type)
}

/// Whether `record_type` looks like any HealthKit identifier at all: all of Apple's start
/// with "HK". Anything else (the `type="c"` record seen in a real export) is damage, not a
/// type we merely do not map.
pub(crate) fn is_healthkit_identifier(record_type: &str) -> bool {
    record_type.starts_with("HK") && record_type.len() > 2
}

/// What a sleep-analysis category value means. Older exports write the raw numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SleepValue {
    Asleep,
    NotAsleep,
    Unknown,
}

pub(crate) fn sleep_value(value: &str) -> SleepValue {
    match value.trim() {
        "HKCategoryValueSleepAnalysisAsleep"
        | "HKCategoryValueSleepAnalysisAsleepUnspecified"
        | "HKCategoryValueSleepAnalysisAsleepCore"
        | "HKCategoryValueSleepAnalysisAsleepDeep"
        | "HKCategoryValueSleepAnalysisAsleepREM"
        | "1"
        | "3"
        | "4"
        | "5" => SleepValue::Asleep,
        "HKCategoryValueSleepAnalysisInBed" | "HKCategoryValueSleepAnalysisAwake" | "0" | "2" => {
            SleepValue::NotAsleep
        }
        _ => SleepValue::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_one_line_per_type_and_identifier() {
        for (i, a) in TYPE_MAP.iter().enumerate() {
            for b in &TYPE_MAP[i + 1..] {
                assert_ne!(a.hk_type, b.hk_type);
                assert_ne!(a.sample_type, b.sample_type);
            }
        }
        assert_eq!(TYPE_MAP.len(), 18);
    }

    /// The unit lists must be exactly what the domain (and so the gateway) accepts.
    #[test]
    fn unit_lists_match_the_domain() {
        use healthpipe_domain::{accepted_units, SampleType};
        let mut covered = Vec::new();
        for m in TYPE_MAP {
            let t: SampleType = m.sample_type.parse().unwrap();
            let mut ours = m.units.to_vec();
            let mut domain = accepted_units(t);
            ours.sort_unstable();
            domain.sort_unstable();
            assert_eq!(ours, domain, "{}", m.sample_type);
            covered.push(t);
        }
        covered.sort();
        assert_eq!(
            covered,
            SampleType::all().collect::<Vec<_>>(),
            "every domain type is mapped"
        );
    }

    #[test]
    fn lookup_and_identifier_shape() {
        assert_eq!(
            lookup("HKQuantityTypeIdentifierBodyMass")
                .unwrap()
                .sample_type,
            "WEIGHT"
        );
        assert_eq!(
            lookup("HKCategoryTypeIdentifierSleepAnalysis")
                .unwrap()
                .kind,
            Kind::Sleep
        );
        assert!(lookup("HKQuantityTypeIdentifierDietaryProtein").is_none());
        assert!(is_healthkit_identifier("HKQuantityTypeIdentifierVO2Max"));
        assert!(!is_healthkit_identifier("c"));
        assert!(!is_healthkit_identifier("HK"));
    }

    #[test]
    fn only_asleep_values_are_sleep() {
        assert_eq!(
            sleep_value("HKCategoryValueSleepAnalysisAsleepREM"),
            SleepValue::Asleep
        );
        assert_eq!(
            sleep_value("HKCategoryValueSleepAnalysisAsleep"),
            SleepValue::Asleep
        );
        assert_eq!(
            sleep_value("HKCategoryValueSleepAnalysisInBed"),
            SleepValue::NotAsleep
        );
        assert_eq!(
            sleep_value("HKCategoryValueSleepAnalysisAwake"),
            SleepValue::NotAsleep
        );
        assert_eq!(sleep_value("0"), SleepValue::NotAsleep);
        assert_eq!(sleep_value("Dozing"), SleepValue::Unknown);
    }
}
