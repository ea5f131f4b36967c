//! The one table saying how each sample type is named in FHIR: its codes, its UCUM unit and
//! its Observation category.
//!
//! A consumer (a clinician's EHR, a user's other app) understands an Observation by its LOINC
//! code and its UCUM unit, so a wrong code is worse than none: it files a value under the wrong
//! measurement. A type gets a LOINC code here only when we are sure the code means exactly what
//! the pipeline stores; the others are coded in healthpipe's own code system
//! ([`SAMPLE_TYPE_SYSTEM`], the wire name as code), which a consumer can at least show by its
//! display and never mistakes for a standard code. [`unverified_codes`] lists them.
//!
//! The unit is always the canonical unit the pipeline stores the type in, so a value is written
//! exactly as stored, never converted; a test checks the UCUM code against
//! [`healthpipe_domain::CanonicalUnit`] so the two cannot drift.

use healthpipe_domain::SampleType;
use serde::Serialize;

/// LOINC, the code system of the standard codes.
pub const LOINC: &str = "http://loinc.org";
/// UCUM, the system of every Quantity's unit code.
pub const UCUM: &str = "http://unitsofmeasure.org";
/// HL7's Observation categories (`vital-signs`, `activity`, `laboratory`).
pub const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
/// healthpipe's own code system for the types without a LOINC code we are sure of: the code is
/// the type's wire name (`"DISTANCE"`).
pub const SAMPLE_TYPE_SYSTEM: &str = "https://healthpipe.dev/fhir/CodeSystem/sample-type";

/// A FHIR Coding: a code in a code system, with its display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Coding {
    pub system: &'static str,
    pub code: &'static str,
    pub display: &'static str,
}

impl Coding {
    const fn loinc(code: &'static str, display: &'static str) -> Self {
        Coding {
            system: LOINC,
            code,
            display,
        }
    }
}

/// The code of a blood-pressure reading that has both values: the LOINC panel whose two
/// components are the systolic and the diastolic codes of the table.
pub const BLOOD_PRESSURE_PANEL: Coding =
    Coding::loinc("85354-9", "Blood pressure panel with all children optional");

/// How a type is coded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concept {
    /// One or more LOINC codes, all true of every value (the primary code first).
    Loinc(&'static [Coding]),
    /// No LOINC code we are sure of: [`SAMPLE_TYPE_SYSTEM`] with the wire name as code.
    Healthpipe { display: &'static str },
}

/// A UCUM unit: the code machines compare and the human-readable unit shown next to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UcumUnit {
    pub code: &'static str,
    pub unit: &'static str,
}

/// The Observation category a type is filed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// The body's basic functions and measurements (heart, breathing, temperature, pressure,
    /// size and composition).
    VitalSigns,
    /// Measures of everyday activity, including sleep (HL7's definition names steps and sleep).
    Activity,
    /// Analytes LOINC files under chemistry; a glucometer reading is one (as in US Core).
    Laboratory,
}

impl Category {
    pub fn coding(self) -> Coding {
        let (code, display) = match self {
            Category::VitalSigns => ("vital-signs", "Vital Signs"),
            Category::Activity => ("activity", "Activity"),
            Category::Laboratory => ("laboratory", "Laboratory"),
        };
        Coding {
            system: OBSERVATION_CATEGORY,
            code,
            display,
        }
    }
}

/// Everything FHIR needs to name one sample type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeCodes {
    pub sample_type: SampleType,
    pub concept: Concept,
    /// The canonical unit of the type, in UCUM.
    pub unit: UcumUnit,
    pub category: Category,
}

impl TypeCodes {
    /// The codings of an Observation of this type (`Observation.code.coding`).
    pub fn codings(&self) -> Vec<Coding> {
        match self.concept {
            Concept::Loinc(codings) => codings.to_vec(),
            Concept::Healthpipe { display } => vec![Coding {
                system: SAMPLE_TYPE_SYSTEM,
                code: self.sample_type.as_str(),
                display,
            }],
        }
    }

    /// The human-readable name of the type (`Observation.code.text`): the primary display.
    pub fn text(&self) -> &'static str {
        match self.concept {
            Concept::Loinc(codings) => codings[0].display,
            Concept::Healthpipe { display } => display,
        }
    }

    pub fn is_loinc(&self) -> bool {
        matches!(self.concept, Concept::Loinc(_))
    }
}

const fn loinc(
    sample_type: SampleType,
    codings: &'static [Coding],
    unit: (&'static str, &'static str),
    category: Category,
) -> TypeCodes {
    TypeCodes {
        sample_type,
        concept: Concept::Loinc(codings),
        unit: UcumUnit {
            code: unit.0,
            unit: unit.1,
        },
        category,
    }
}

const fn own(
    sample_type: SampleType,
    display: &'static str,
    unit: (&'static str, &'static str),
    category: Category,
) -> TypeCodes {
    TypeCodes {
        sample_type,
        concept: Concept::Healthpipe { display },
        unit: UcumUnit {
            code: unit.0,
            unit: unit.1,
        },
        category,
    }
}

use Category::{Activity, Laboratory, VitalSigns};
use SampleType as T;

/// Shorthand for the table.
const fn lc(code: &'static str, display: &'static str) -> Coding {
    Coding::loinc(code, display)
}

/// The table: one line per type, in declaration order of [`SampleType`] (checked at compile
/// time).
///
/// Without a LOINC code, and why:
/// - DISTANCE, ACTIVE_ENERGY, BASAL_ENERGY, FLIGHTS_CLIMBED: LOINC's activity codes are tied to
///   a method, a fixed duration or a total that is not ours (the calories-burned codes do not
///   separate active from basal energy); codes seen in other mappings could not be checked
///   against LOINC itself.
/// - HEART_RATE_VARIABILITY: LOINC 80404-7 is the standard deviation of R-R intervals (SDNN),
///   which Apple Health sends, but the API does not say which statistic a client's value is
///   (other devices report RMSSD), so claiming SDNN could mislead a clinician.
#[rustfmt::skip]
pub const CODES: [TypeCodes; 18] = [
    loinc(T::Steps, &[lc("55423-8", "Number of steps in unspecified time Pedometer")], ("{steps}", "steps"), Activity),
    own(T::Distance, "Distance walked or run", ("m", "m"), Activity),
    own(T::ActiveEnergy, "Active energy burned", ("kcal", "kcal"), Activity),
    own(T::BasalEnergy, "Basal energy burned", ("kcal", "kcal"), Activity),
    own(T::FlightsClimbed, "Flights of stairs climbed", ("{flights}", "flights"), Activity),
    loinc(T::SleepAnalysis, &[lc("93832-4", "Sleep duration")], ("min", "min"), Activity),
    loinc(T::HeartRate, &[lc("8867-4", "Heart rate")], ("/min", "beats/minute"), VitalSigns),
    loinc(T::RestingHeartRate, &[lc("40443-4", "Heart rate --resting")], ("/min", "beats/minute"), VitalSigns),
    own(T::HeartRateVariability, "Heart rate variability", ("ms", "ms"), VitalSigns),
    loinc(T::BloodGlucose, &[lc("2339-0", "Glucose [Mass/volume] in Blood")], ("mg/dL", "mg/dL"), Laboratory),
    loinc(
        T::OxygenSaturation,
        &[
            lc("2708-6", "Oxygen saturation in Arterial blood"),
            lc("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
        ],
        ("%", "%"),
        VitalSigns,
    ),
    loinc(T::RespiratoryRate, &[lc("9279-1", "Respiratory rate")], ("/min", "breaths/minute"), VitalSigns),
    loinc(T::BodyTemperature, &[lc("8310-5", "Body temperature")], ("Cel", "°C"), VitalSigns),
    loinc(T::BloodPressureSystolic, &[lc("8480-6", "Systolic blood pressure")], ("mm[Hg]", "mmHg"), VitalSigns),
    loinc(T::BloodPressureDiastolic, &[lc("8462-4", "Diastolic blood pressure")], ("mm[Hg]", "mmHg"), VitalSigns),
    loinc(T::Weight, &[lc("29463-7", "Body weight")], ("kg", "kg"), VitalSigns),
    loinc(T::BodyFat, &[lc("41982-0", "Percentage of body fat Measured")], ("%", "%"), VitalSigns),
    loinc(T::Height, &[lc("8302-2", "Body height")], ("m", "m"), VitalSigns),
];

// `codes` indexes the table by discriminant; refuse to compile if the order drifts.
const _: () = {
    let mut i = 0;
    while i < CODES.len() {
        assert!(
            CODES[i].sample_type as usize == i,
            "CODES must follow SampleType order"
        );
        i += 1;
    }
};

/// The FHIR naming of `sample_type`.
pub fn codes(sample_type: SampleType) -> &'static TypeCodes {
    &CODES[sample_type as usize]
}

/// The types coded in healthpipe's own code system because no LOINC code is certain for them,
/// in table order (for the README).
pub fn unverified_codes() -> impl Iterator<Item = SampleType> {
    CODES
        .iter()
        .filter(|codes| !codes.is_loinc())
        .map(|codes| codes.sample_type)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use healthpipe_domain::CanonicalUnit;

    use super::*;

    /// The UCUM codes that mean `unit`: a count is dimensionless, so any annotation (`{steps}`) is
    /// one.
    fn ucum_codes_of(unit: CanonicalUnit) -> &'static [&'static str] {
        match unit {
            CanonicalUnit::Count => &["1", "{steps}", "{flights}"],
            CanonicalUnit::Meter => &["m"],
            CanonicalUnit::Kilocalorie => &["kcal"],
            CanonicalUnit::Minute => &["min"],
            CanonicalUnit::BeatsPerMinute | CanonicalUnit::BreathsPerMinute => &["/min"],
            CanonicalUnit::Millisecond => &["ms"],
            CanonicalUnit::MilligramPerDeciliter => &["mg/dL"],
            CanonicalUnit::Percent => &["%"],
            CanonicalUnit::DegreeCelsius => &["Cel"],
            CanonicalUnit::MillimeterOfMercury => &["mm[Hg]"],
            CanonicalUnit::Kilogram => &["kg"],
        }
    }

    #[test]
    fn every_type_has_exactly_one_line() {
        let listed: Vec<SampleType> = CODES.iter().map(|c| c.sample_type).collect();
        let unique: HashSet<SampleType> = listed.iter().copied().collect();
        assert_eq!(listed.len(), unique.len(), "a type is listed twice");
        assert_eq!(unique, SampleType::all().collect::<HashSet<_>>());
        for t in SampleType::all() {
            assert_eq!(codes(t).sample_type, t);
        }
    }

    #[test]
    fn the_unit_is_the_canonical_unit() {
        for c in &CODES {
            let canonical = c.sample_type.canonical_unit();
            assert!(
                ucum_codes_of(canonical).contains(&c.unit.code),
                "{}: UCUM {} is not {canonical}",
                c.sample_type,
                c.unit.code
            );
        }
    }

    #[test]
    fn the_required_loinc_codes() {
        let primary = |t: SampleType| codes(t).codings()[0].code;
        assert_eq!(primary(T::Steps), "55423-8");
        assert_eq!(primary(T::HeartRate), "8867-4");
        assert_eq!(primary(T::RestingHeartRate), "40443-4");
        assert_eq!(primary(T::Weight), "29463-7");
        assert_eq!(primary(T::BodyFat), "41982-0");
        assert_eq!(primary(T::BloodGlucose), "2339-0");
        assert_eq!(primary(T::BloodPressureSystolic), "8480-6");
        assert_eq!(primary(T::BloodPressureDiastolic), "8462-4");
        assert_eq!(primary(T::BodyTemperature), "8310-5");
        assert_eq!(primary(T::RespiratoryRate), "9279-1");
        assert_eq!(primary(T::Height), "8302-2");
        assert_eq!(primary(T::SleepAnalysis), "93832-4");
        let spo2: Vec<_> = codes(T::OxygenSaturation)
            .codings()
            .iter()
            .map(|c| c.code)
            .collect();
        assert_eq!(spo2, ["2708-6", "59408-5"]);
        assert_eq!(BLOOD_PRESSURE_PANEL.code, "85354-9");
    }

    #[test]
    fn unverified_types_use_the_healthpipe_system_with_their_wire_name() {
        let unverified: Vec<_> = unverified_codes().collect();
        assert_eq!(
            unverified,
            [
                T::Distance,
                T::ActiveEnergy,
                T::BasalEnergy,
                T::FlightsClimbed,
                T::HeartRateVariability
            ]
        );
        for t in unverified {
            let codings = codes(t).codings();
            assert_eq!(codings.len(), 1);
            assert_eq!(codings[0].system, SAMPLE_TYPE_SYSTEM);
            assert_eq!(codings[0].code, t.as_str());
        }
        for c in CODES.iter().filter(|c| c.is_loinc()) {
            assert!(c.codings().iter().all(|coding| coding.system == LOINC));
        }
    }

    #[test]
    fn categories() {
        for t in [T::Steps, T::Distance, T::FlightsClimbed, T::SleepAnalysis] {
            assert_eq!(codes(t).category, Category::Activity, "{t}");
        }
        for t in [T::HeartRate, T::OxygenSaturation, T::BloodPressureSystolic] {
            assert_eq!(codes(t).category.coding().code, "vital-signs", "{t}");
        }
        assert_eq!(codes(T::BloodGlucose).category.coding().code, "laboratory");
    }
}
