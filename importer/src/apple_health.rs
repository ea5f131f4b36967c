//! Apple Health's `export.xml` ("Export All Health Data") → devices with sync samples.
//!
//! Two ways in: [`import_apple_health`] reads a whole export into an [`Import`] (samples
//! grouped by device, duplicates dropped, every other record accounted for), and
//! [`AppleHealthSamples`] streams one [`Outcome`] per record for files too large to hold.
//! Both read any `BufRead` with constant memory of their own.

mod convert;
mod dates;
mod device;
mod lines;
mod types;
mod units;
mod xml;

use std::io::BufRead;

pub use convert::convert_record;
pub use xml::{ReaderStats, Record, RecordReader};

use crate::error::ImportError;
use crate::import::{Counts, Grouper, Import, Skipped};
use crate::sample::{DeviceInfo, SyncSample};

/// What became of one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A sample for the gateway, with the device to sync it to.
    Sample {
        device: DeviceInfo,
        sample: SyncSample,
    },
    /// A well-formed record we do not import.
    Ignored(Ignored),
    /// A bad record, with the reason.
    Skipped(Skipped),
}

/// Why a well-formed record is not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ignored {
    /// A HealthKit type outside our mapping table (nutrition, VO2 max, ...).
    UnmappedType(String),
    /// A sleep-analysis value that is not sleep (in bed, awake).
    NotAsleep(String),
    /// A record that carries no measurement (an idle interval, a zero-step minute), by what
    /// it is.
    NotMeasured(String),
}

/// Streams the [`Outcome`] of each top-level record of an export, in file order.
pub struct AppleHealthSamples<R: BufRead> {
    records: RecordReader<R>,
}

impl<R: BufRead> AppleHealthSamples<R> {
    pub fn new(reader: R) -> Self {
        AppleHealthSamples {
            records: RecordReader::new(reader),
        }
    }

    /// What the reader counted besides the records; complete once iteration has ended.
    pub fn stats(&self) -> &ReaderStats {
        self.records.stats()
    }
}

impl<R: BufRead> Iterator for AppleHealthSamples<R> {
    type Item = Result<Outcome, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.records.next()?.map(convert_record))
    }
}

/// Reads a whole export. Bad records are listed in [`Import::skipped`]; only an unreadable
/// or non-XML file is an error.
pub fn import_apple_health(reader: impl BufRead) -> Result<Import, ImportError> {
    let mut outcomes = AppleHealthSamples::new(reader);
    let mut grouper = Grouper::default();
    let mut counts = Counts::default();
    let mut skipped = Vec::new();
    for outcome in outcomes.by_ref() {
        match outcome? {
            Outcome::Sample { device, sample } => {
                if grouper.add(&device, sample) {
                    counts.imported += 1;
                } else {
                    counts.duplicates += 1;
                }
            }
            Outcome::Ignored(Ignored::UnmappedType(t)) => {
                *counts.ignored_types.entry(t).or_insert(0) += 1
            }
            Outcome::Ignored(Ignored::NotAsleep(v)) => {
                *counts.not_asleep.entry(v).or_insert(0) += 1
            }
            Outcome::Ignored(Ignored::NotMeasured(v)) => {
                *counts.not_measured.entry(v).or_insert(0) += 1
            }
            Outcome::Skipped(s) => {
                counts.skipped += 1;
                skipped.push(s);
            }
        }
    }
    let stats = outcomes.stats();
    counts.records = stats.records;
    counts.nested_in_correlations = stats.nested_in_correlations;
    counts.other_elements = stats.other_elements.clone();
    Ok(Import {
        devices: grouper.into_devices(),
        skipped,
        counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::DeviceType;

    const EXPORT: &str = r#"<HealthData locale="en_US">
 <Record type="HKQuantityTypeIdentifierBodyMass" sourceName="Health Mate" unit="kg" creationDate="2017-10-01 08:00:05 +0200" startDate="2017-10-01 08:00:00 +0200" endDate="2017-10-01 08:00:00 +0200" value="80.5"/>
 <Record type="HKQuantityTypeIdentifierBodyMass" sourceName="Health Mate" unit="kg" creationDate="2017-10-02 09:00:00 +0200" startDate="2017-10-01 08:00:00 +0200" endDate="2017-10-01 08:00:00 +0200" value="80.5"/>
 <Record type="HKQuantityTypeIdentifierStepCount" sourceName="Health" unit="count" startDate="2017-03-07 15:07:00 +0200" endDate="2017-03-07 15:07:00 +0200" value="30000">
  <MetadataEntry key="HKWasUserEntered" value="1"/>
 </Record>
 <Correlation type="HKCorrelationTypeIdentifierBloodPressure" sourceName="Omron" startDate="2017-10-01 08:00:00 +0200" endDate="2017-10-01 08:00:00 +0200">
  <Record type="HKQuantityTypeIdentifierBloodPressureSystolic" sourceName="Omron" unit="mmHg" startDate="2017-10-01 08:00:00 +0200" endDate="2017-10-01 08:00:00 +0200" value="120"/>
 </Correlation>
 <Record type="HKQuantityTypeIdentifierBloodPressureSystolic" sourceName="Omron" unit="mmHg" startDate="2017-10-01 08:00:00 +0200" endDate="2017-10-01 08:00:00 +0200" value="120"/>
 <Record type="HKCategoryTypeIdentifierSleepAnalysis" sourceName="Pillow" startDate="2017-10-01 23:00:00 +0200" endDate="2017-10-02 07:00:00 +0200" value="HKCategoryValueSleepAnalysisInBed"/>
 <Record type="HKQuantityTypeIdentifierDietaryWater" sourceName="Nutrino" unit="mL" startDate="2017-10-01 08:00:00 +0200" endDate="2017-10-01 08:00:00 +0200" value="250"/>
 <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Connect" unit="count/min" startDate="2017-10-01 08:00:00 +0200" endDate="2017-10-01 08:00:00 +0200" value="n/a"/>
</HealthData>"#;

    #[test]
    fn whole_import_groups_dedups_and_accounts() {
        let import = import_apple_health(EXPORT.as_bytes()).unwrap();
        let ids: Vec<&str> = import
            .devices
            .iter()
            .map(|d| d.device.device_identifier.as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "apple-health:Health Mate",
                "apple-health:manual-entry",
                "apple-health:Omron"
            ]
        );
        assert_eq!(
            import.devices[0].device.device_type,
            DeviceType::ThirdPartyScale
        );
        assert_eq!(
            import.devices[0].samples.len(),
            1,
            "the re-written weighing is a duplicate"
        );
        assert_eq!(
            import.devices[2].samples.len(),
            1,
            "the correlation's child is not imported twice"
        );
        let c = &import.counts;
        assert_eq!(
            (c.records, c.imported, c.duplicates, c.skipped, c.ignored()),
            (7, 3, 1, 1, 2)
        );
        assert_eq!(c.nested_in_correlations, 1);
        assert!(c.is_consistent());
        assert_eq!(import.skipped[0].line, Some(13));
        assert_eq!(
            import.skipped[0].reason.to_string(),
            "value \"n/a\" is not a finite number"
        );
    }

    #[test]
    fn streaming_yields_one_outcome_per_record() {
        let mut stream = AppleHealthSamples::new(EXPORT.as_bytes());
        let outcomes: Vec<Outcome> = stream.by_ref().collect::<Result<_, _>>().unwrap();
        assert_eq!(outcomes.len(), 7);
        assert_eq!(stream.stats().records, 7);
        assert!(
            matches!(&outcomes[4], Outcome::Ignored(Ignored::NotAsleep(v)) if v.ends_with("InBed"))
        );
    }
}
