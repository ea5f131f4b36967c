//! What an import tells its user: pure bookkeeping, no I/O. The job feeds a [`Tally`] as it
//! reads and appends; [`Tally::report`] adds what the projections say once the processor has
//! applied the import (how many samples are new, the per-type totals).
//!
//! Every record of the file is accounted for exactly once:
//! `records = imported + duplicates + Σ rejected + Σ unmapped_types + Σ not_imported`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use healthpipe_domain::SampleType;
use healthpipe_importer::{Ignored, Skipped, Totals};
use serde::Serialize;
use uuid::Uuid;

/// Rejections listed with their message (the rest are only counted).
pub const MAX_REJECTION_EXAMPLES: usize = 20;

/// The running counts of one import.
#[derive(Debug, Default)]
pub struct Tally {
    /// Samples that passed validation and were appended to the log.
    pub sent: u64,
    pub rejected: BTreeMap<String, u64>,
    pub examples: Vec<String>,
    pub unmapped_types: BTreeMap<String, u64>,
    pub not_imported: BTreeMap<String, u64>,
    /// What the connector counted besides its outcomes (set once reading ended).
    pub totals: Totals,
    /// Samples appended per sample type, with the span of their start times.
    pub types: BTreeMap<SampleType, TypeSpan>,
    /// Samples appended per device.
    pub per_device: HashMap<Uuid, u64>,
}

/// How many samples of one type were appended, and when they start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TypeSpan {
    pub samples: u64,
    pub first_start: DateTime<Utc>,
    pub last_start: DateTime<Utc>,
}

impl Tally {
    /// A record the connector could not read.
    pub fn skipped(&mut self, skipped: &Skipped) {
        let message = match skipped.line {
            Some(line) => format!(
                "record {} (line {line}): {}",
                skipped.record, skipped.reason
            ),
            None => format!("record {}: {}", skipped.record, skipped.reason),
        };
        self.reject(skipped.reason.code(), message);
    }

    /// A sample the gateway's validation refused (`code` as a sync's rejection metric has it).
    pub fn invalid(&mut self, code: &str, message: String) {
        self.reject(code, message);
    }

    fn reject(&mut self, code: &str, message: String) {
        *self.rejected.entry(code.to_owned()).or_insert(0) += 1;
        if self.examples.len() < MAX_REJECTION_EXAMPLES {
            self.examples.push(message);
        }
    }

    /// A well-formed record that is not imported.
    pub fn ignored(&mut self, ignored: Ignored) {
        let (map, key) = match ignored {
            Ignored::UnmappedType(t) => (&mut self.unmapped_types, t),
            Ignored::NotAsleep(v) => (&mut self.not_imported, format!("not asleep: {v}")),
            Ignored::NotMeasured(w) => (&mut self.not_imported, format!("not measured: {w}")),
        };
        *map.entry(key).or_insert(0) += 1;
    }

    /// Adds the counts of `other` (the reader's, kept on its own thread) to these.
    pub fn merge(&mut self, other: Tally) {
        fn add<K: Ord, V: std::ops::AddAssign + Default>(
            to: &mut BTreeMap<K, V>,
            from: BTreeMap<K, V>,
        ) {
            for (k, v) in from {
                *to.entry(k).or_default() += v;
            }
        }
        self.sent += other.sent;
        add(&mut self.rejected, other.rejected);
        add(&mut self.unmapped_types, other.unmapped_types);
        add(&mut self.not_imported, other.not_imported);
        let room = MAX_REJECTION_EXAMPLES.saturating_sub(self.examples.len());
        self.examples.extend(other.examples.into_iter().take(room));
        self.totals = other.totals;
        for (t, span) in other.types {
            self.add_span(t, span);
        }
        for (d, n) in other.per_device {
            *self.per_device.entry(d).or_insert(0) += n;
        }
    }

    /// A sample appended to the log for `device`.
    pub fn appended(&mut self, device: Uuid, sample_type: SampleType, start: DateTime<Utc>) {
        self.sent += 1;
        *self.per_device.entry(device).or_insert(0) += 1;
        let one = TypeSpan {
            samples: 1,
            first_start: start,
            last_start: start,
        };
        self.add_span(sample_type, one);
    }

    fn add_span(&mut self, sample_type: SampleType, span: TypeSpan) {
        self.types
            .entry(sample_type)
            .and_modify(|s| {
                s.samples += span.samples;
                s.first_start = s.first_start.min(span.first_start);
                s.last_start = s.last_start.max(span.last_start);
            })
            .or_insert(span);
    }

    /// The report. `processed` holds what the projections said once the processor applied
    /// the import, `None` if it did not within the wait.
    pub fn report(&self, devices: Vec<ReportDevice>, processed: Option<Processed>) -> Report {
        let (imported, duplicates_stored, type_totals) = match &processed {
            Some(p) => (
                p.new_samples.min(self.sent),
                self.sent.saturating_sub(p.new_samples),
                Some(&p.type_totals),
            ),
            None => (self.sent, 0, None),
        };
        let types = self
            .types
            .iter()
            .map(|(t, span)| {
                let totals = type_totals.and_then(|m| m.get(t));
                ReportType {
                    sample_type: t.as_str(),
                    unit: t.canonical_unit().symbol(),
                    samples: span.samples,
                    naive_sum: totals.map(|x| x.0),
                    deduplicated_total: totals.map(|x| x.1),
                }
            })
            .collect();
        Report {
            records: self.totals.records as u64,
            imported,
            duplicates: duplicates_stored + self.totals.duplicates as u64,
            rejected: self.rejected.clone(),
            rejected_examples: self.examples.clone(),
            unmapped_types: self.unmapped_types.clone(),
            not_imported: self.not_imported.clone(),
            other_elements: self.totals.other_elements.clone(),
            devices,
            types,
            processed: processed.is_some(),
        }
    }
}

/// What the projections said once the processor applied the import.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Processed {
    /// Samples stored now that were not before (of the import's devices).
    pub new_samples: u64,
    /// Per cumulative type over the days the import covers: (naive sum, deduplicated total).
    pub type_totals: BTreeMap<SampleType, (f64, f64)>,
}

/// The report of a finished import, as `GET /api/v1/imports/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Records read from the file.
    pub records: u64,
    /// Samples new to the account.
    pub imported: u64,
    /// Samples the account already held, or that the file repeats (importing the same file
    /// again makes every sample one of these).
    pub duplicates: u64,
    /// Records refused, by reason.
    pub rejected: BTreeMap<String, u64>,
    /// The first refusals, with where and why.
    pub rejected_examples: Vec<String>,
    /// Records of types not imported, by type.
    pub unmapped_types: BTreeMap<String, u64>,
    /// Well-formed records that carry nothing to import (in bed but awake, idle intervals).
    pub not_imported: BTreeMap<String, u64>,
    /// Elements besides records (workouts, activity summaries), only counted.
    pub other_elements: BTreeMap<String, usize>,
    /// The devices the file's sources became, best priority first.
    pub devices: Vec<ReportDevice>,
    /// Per sample type: samples appended and, for types that add up, the naive sum of every
    /// device beside the deduplicated total over the days the import covers.
    pub types: Vec<ReportType>,
    /// Whether the processor applied the import before the report was made (when false,
    /// `imported` counts every sample sent and the totals are missing).
    pub processed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportDevice {
    pub id: Uuid,
    pub name: String,
    pub device_type: String,
    pub priority: i32,
    /// Registered by this import (false: the account had it).
    pub created: bool,
    /// Samples of the file appended for it.
    pub samples: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportType {
    #[serde(rename = "type")]
    pub sample_type: &'static str,
    pub unit: &'static str,
    pub samples: u64,
    pub naive_sum: Option<f64>,
    pub deduplicated_total: Option<f64>,
}

impl Report {
    /// Whether every record is accounted for exactly once.
    pub fn is_consistent(&self) -> bool {
        let sum = |m: &BTreeMap<String, u64>| m.values().sum::<u64>();
        self.records
            == self.imported
                + self.duplicates
                + sum(&self.rejected)
                + sum(&self.unmapped_types)
                + sum(&self.not_imported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use healthpipe_importer::SkipReason;

    fn at(h: u32) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + i64::from(h) * 3600, 0).unwrap()
    }

    fn tally() -> Tally {
        let mut t = Tally::default();
        let device = Uuid::from_u128(1);
        for h in [3, 1, 2] {
            t.appended(device, SampleType::Steps, at(h));
        }
        t.appended(device, SampleType::HeartRate, at(5));
        t.skipped(&Skipped {
            record: 7,
            line: Some(12),
            record_type: "HKQuantityTypeIdentifierStepCount".into(),
            reason: SkipReason::BadValue("n/a".into()),
        });
        t.invalid("beyond_retention", "end is too old".into());
        t.ignored(Ignored::UnmappedType(
            "HKQuantityTypeIdentifierDietaryWater".into(),
        ));
        t.ignored(Ignored::NotAsleep(
            "HKCategoryValueSleepAnalysisInBed".into(),
        ));
        t.totals = Totals {
            records: 9,
            duplicates: 1,
            ..Totals::default()
        };
        t
    }

    #[test]
    fn every_record_is_accounted_for_once() {
        let t = tally();
        let first = t.report(
            vec![],
            Some(Processed {
                new_samples: 4,
                ..Processed::default()
            }),
        );
        assert_eq!((first.imported, first.duplicates), (4, 1));
        assert!(first.is_consistent(), "{first:?}");
        // The same file again: nothing new, every sample a duplicate.
        let again = t.report(vec![], Some(Processed::default()));
        assert_eq!((again.imported, again.duplicates), (0, 5));
        assert!(again.is_consistent());
        assert_eq!(again.rejected.get("bad_value"), Some(&1));
        assert_eq!(again.rejected.get("beyond_retention"), Some(&1));
        assert_eq!(
            again.rejected_examples[0],
            "record 7 (line 12): value \"n/a\" is not a finite number"
        );
    }

    #[test]
    fn type_spans_and_totals() {
        let t = tally();
        let span = t.types[&SampleType::Steps];
        assert_eq!(
            (span.samples, span.first_start, span.last_start),
            (3, at(1), at(3))
        );
        let mut totals = BTreeMap::new();
        totals.insert(SampleType::Steps, (300.0, 200.0));
        let report = t.report(
            vec![],
            Some(Processed {
                new_samples: 4,
                type_totals: totals,
            }),
        );
        let steps = report
            .types
            .iter()
            .find(|r| r.sample_type == "STEPS")
            .unwrap();
        assert_eq!(
            (steps.naive_sum, steps.deduplicated_total),
            (Some(300.0), Some(200.0))
        );
        let hr = report
            .types
            .iter()
            .find(|r| r.sample_type == "HEART_RATE")
            .unwrap();
        assert_eq!(hr.naive_sum, None);
    }

    #[test]
    fn unprocessed_reports_what_was_sent() {
        let report = tally().report(vec![], None);
        assert!(!report.processed);
        assert_eq!((report.imported, report.duplicates), (4, 1));
        assert!(report.is_consistent());
    }
}
