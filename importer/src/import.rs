//! The result of one import: samples grouped by device, and an account of every record that
//! did not become a sample, so that nothing disappears silently.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use crate::sample::{DeviceInfo, ImportedDevice, SyncSample};

/// Everything one file yielded.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Import {
    /// In order of each device's first sample in the file.
    pub devices: Vec<ImportedDevice>,
    /// Bad records, in file order.
    pub skipped: Vec<Skipped>,
    pub counts: Counts,
}

/// How the records of a file were accounted for.
/// Invariant: `records == imported + duplicates + skipped + ignored()`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Records read (Apple Health: top-level `<Record>` elements; shimmer: data points).
    pub records: usize,
    /// Records that became a sample.
    pub imported: usize,
    /// Records equal to an earlier sample of the same device (type, unit, start, end, value),
    /// dropped: the gateway would derive the same id for them and keep only the first anyway.
    pub duplicates: usize,
    /// Bad records (listed in [`Import::skipped`]).
    pub skipped: usize,
    /// Well-formed records of types we do not map (nutrition, VO2 max, ...), by type.
    pub ignored_types: BTreeMap<String, usize>,
    /// Sleep-analysis records that are not sleep (in bed, awake), by category value.
    pub not_asleep: BTreeMap<String, usize>,
    /// Records that carry no measurement (an idle Withings interval, a zero-step minute,
    /// iHealth's 0 for a missing value), by what they are.
    pub not_measured: BTreeMap<String, usize>,
    /// `<Record>`s inside a `<Correlation>`: not counted in `records`, because the export
    /// repeats each of them at top level.
    pub nested_in_correlations: usize,
    /// Top-level elements other than records (Workout, ActivitySummary, ...), by name.
    pub other_elements: BTreeMap<String, usize>,
}

impl Counts {
    /// Records deliberately not imported: unmapped types, non-sleep categories, no measurement.
    pub fn ignored(&self) -> usize {
        [&self.ignored_types, &self.not_asleep, &self.not_measured]
            .iter()
            .flat_map(|m| m.values())
            .sum()
    }

    /// Whether every record is accounted for exactly once.
    pub fn is_consistent(&self) -> bool {
        self.records == self.imported + self.duplicates + self.skipped + self.ignored()
    }
}

/// A bad record: reported, never fatal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skipped {
    /// 1-based position among the file's records (as counted in [`Counts::records`]).
    pub record: usize,
    /// 1-based line of the record's start tag, for formats that have lines worth citing.
    pub line: Option<usize>,
    /// The record's type as written (`"c"`, `"HKQuantityTypeIdentifierStepCount"`, ...).
    pub record_type: String,
    #[serde(serialize_with = "as_display")]
    pub reason: SkipReason,
}

fn as_display<S: serde::Serializer>(reason: &SkipReason, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(reason)
}

/// What is wrong with a bad record, in words a person fixing the file understands.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SkipReason {
    #[error("\"{0}\" is not a HealthKit type identifier")]
    UnknownRecordType(String),
    #[error("the {0} attribute is missing")]
    MissingAttribute(&'static str),
    #[error("the {attribute} attribute cannot be decoded: {reason}")]
    BadAttribute { attribute: String, reason: String },
    #[error("{attribute} \"{value}\" is not a date like \"2017-10-23 08:15:00 +0200\"")]
    BadDate {
        attribute: &'static str,
        value: String,
    },
    #[error("value \"{0}\" is not a finite number")]
    BadValue(String),
    #[error("unit \"{unit}\" has no equivalent the gateway accepts for {sample_type}")]
    UnsupportedUnit {
        unit: String,
        sample_type: &'static str,
    },
    #[error("\"{0}\" is not a known sleep-analysis value")]
    UnknownSleepValue(String),
    #[error("end {end} is before start {start}")]
    EndBeforeStart {
        start: DateTime<FixedOffset>,
        end: DateTime<FixedOffset>,
    },
    #[error("{0}")]
    Malformed(String),
}

impl SkipReason {
    /// A short stable name of the reason, for counting skipped records by reason.
    pub fn code(&self) -> &'static str {
        match self {
            SkipReason::UnknownRecordType(_) => "unknown_record_type",
            SkipReason::MissingAttribute(_) => "missing_attribute",
            SkipReason::BadAttribute { .. } => "bad_attribute",
            SkipReason::BadDate { .. } => "bad_date",
            SkipReason::BadValue(_) => "bad_value",
            SkipReason::UnsupportedUnit { .. } => "unsupported_unit",
            SkipReason::UnknownSleepValue(_) => "unknown_sleep_value",
            SkipReason::EndBeforeStart { .. } => "end_before_start",
            SkipReason::Malformed(_) => "malformed",
        }
    }
}

/// Collects samples into devices, dropping exact duplicates within a device.
#[derive(Debug, Default)]
pub(crate) struct Grouper {
    by_identifier: HashMap<String, usize>,
    devices: Vec<ImportedDevice>,
    seen: HashSet<SampleKey>,
}

/// What makes two samples of one device the same measurement.
#[derive(Debug, PartialEq, Eq, Hash)]
struct SampleKey {
    device: usize,
    sample_type: &'static str,
    unit: &'static str,
    start_ms: i64,
    end_ms: i64,
    value_bits: u64,
}

impl Grouper {
    /// Adds `sample` to `device`; false (and nothing added) if it is a duplicate.
    pub(crate) fn add(&mut self, device: &DeviceInfo, sample: SyncSample) -> bool {
        let index = match self.by_identifier.get(&device.device_identifier) {
            Some(&i) => i,
            None => {
                let i = self.devices.len();
                self.by_identifier
                    .insert(device.device_identifier.clone(), i);
                self.devices.push(ImportedDevice {
                    device: device.clone(),
                    samples: Vec::new(),
                });
                i
            }
        };
        let key = SampleKey {
            device: index,
            sample_type: sample.sample_type,
            unit: sample.unit,
            start_ms: sample.start_date.timestamp_millis(),
            end_ms: sample.end_date.timestamp_millis(),
            value_bits: sample.value.to_bits(),
        };
        if !self.seen.insert(key) {
            return false;
        }
        self.devices[index].samples.push(sample);
        true
    }

    pub(crate) fn into_devices(self) -> Vec<ImportedDevice> {
        self.devices
    }
}

impl Import {
    /// The device with this `device_identifier`, if any sample was imported for it.
    pub fn device(&self, identifier: &str) -> Option<&ImportedDevice> {
        self.devices
            .iter()
            .find(|d| d.device.device_identifier == identifier)
    }

    /// Every imported sample with its device.
    pub fn samples(&self) -> impl Iterator<Item = (&DeviceInfo, &SyncSample)> {
        self.devices
            .iter()
            .flat_map(|d| d.samples.iter().map(move |s| (&d.device, s)))
    }
}

/// A short human-readable summary: devices with samples per type, then the accounting.
impl fmt::Display for Import {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.devices {
            let info = &d.device;
            writeln!(
                f,
                "{} [{}] {}",
                info.device_name,
                info.device_type.as_str(),
                info.device_identifier
            )?;
            for (t, n) in d.counts_by_type() {
                writeln!(f, "    {t}: {n}")?;
            }
        }
        let c = &self.counts;
        writeln!(
            f,
            "records {} = imported {} + duplicates {} + skipped {} + ignored {} (types {:?}, not asleep {:?}, not measured {:?})",
            c.records,
            c.imported,
            c.duplicates,
            c.skipped,
            c.ignored(),
            c.ignored_types,
            c.not_asleep,
            c.not_measured
        )?;
        writeln!(
            f,
            "nested in correlations {}, other elements {:?}",
            c.nested_in_correlations, c.other_elements
        )?;
        for s in &self.skipped {
            writeln!(
                f,
                "skipped record {} (line {:?}, type {:?}): {}",
                s.record, s.line, s.record_type, s.reason
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::DeviceType;
    use std::collections::BTreeMap;

    fn device(id: &str) -> DeviceInfo {
        DeviceInfo {
            device_type: DeviceType::Iphone,
            device_name: id.into(),
            device_identifier: id.into(),
        }
    }

    fn sample(value: f64, start: &str) -> SyncSample {
        let start = DateTime::parse_from_rfc3339(start).unwrap();
        SyncSample {
            sample_type: "STEPS",
            value,
            unit: "count",
            start_date: start,
            end_date: start,
            source_app: None,
            metadata: BTreeMap::new(),
        }
    }

    #[test]
    fn duplicates_are_per_device_and_compare_instants() {
        let mut g = Grouper::default();
        assert!(g.add(&device("a"), sample(1.0, "2017-10-23T08:00:00+02:00")));
        // Same instant written with another offset: the same measurement.
        assert!(!g.add(&device("a"), sample(1.0, "2017-10-23T06:00:00Z")));
        assert!(g.add(&device("a"), sample(2.0, "2017-10-23T08:00:00+02:00")));
        assert!(g.add(&device("b"), sample(1.0, "2017-10-23T08:00:00+02:00")));
        let devices = g.into_devices();
        assert_eq!(devices.len(), 2);
        assert_eq!(devices[0].samples.len(), 2);
        assert_eq!(devices[1].device.device_identifier, "b");
    }

    #[test]
    fn counts_add_up() {
        let mut c = Counts {
            records: 10,
            imported: 5,
            duplicates: 1,
            skipped: 1,
            ..Counts::default()
        };
        c.ignored_types
            .insert("HKQuantityTypeIdentifierDietaryProtein".into(), 2);
        c.not_asleep
            .insert("HKCategoryValueSleepAnalysisInBed".into(), 1);
        assert_eq!(c.ignored(), 3);
        c.not_measured.insert("zero-step interval".into(), 1);
        c.imported -= 1;
        assert!(c.is_consistent());
        c.records += 1;
        assert!(!c.is_consistent());
    }

    #[test]
    fn skip_reasons_read_well() {
        let r = SkipReason::UnknownRecordType("c".into());
        assert_eq!(r.to_string(), "\"c\" is not a HealthKit type identifier");
        let s = Skipped {
            record: 3,
            line: Some(40),
            record_type: "c".into(),
            reason: r,
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["reason"], "\"c\" is not a HealthKit type identifier");
        assert_eq!(s.reason.code(), "unknown_record_type");
    }
}
