//! Third-party API responses, in the shapes Open mHealth's shimmer reads, → the same
//! [`Import`] as an Apple Health export.
//!
//! - [`import_fitbit_intraday`]: Fitbit `activities/steps` or `activities/heart` intraday;
//! - [`import_google_fit`]: Google Fit merged step deltas and heart rate datasets;
//! - [`import_withings_intraday_activity`]: Withings intraday steps, distance, calories;
//! - [`import_ihealth_spo2`]: iHealth blood oxygen (SpO2 and pulse).
//!
//! Fitbit writes local wall-clock times without an offset and Google Fit and Withings write
//! instants without one, so those take the user's time zone (any `chrono::TimeZone`, e.g. a
//! `FixedOffset` or a `chrono_tz::Tz` from the account's profile) to give every sample the
//! offset the user's clock showed. iHealth writes its offset per record.
//!
//! Accounting: one record per measured value (a Withings interval with steps, distance and
//! calories is three), so [`crate::Counts::is_consistent`] holds here too.

mod fitbit;
mod google_fit;
mod ihealth;
mod withings;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone};
use serde_json::Value;

pub use fitbit::import_fitbit_intraday;
pub use google_fit::import_google_fit;
pub use ihealth::import_ihealth_spo2;
pub use withings::import_withings_intraday_activity;

use crate::error::ImportError;
use crate::import::{Counts, Grouper, Import, SkipReason, Skipped};
use crate::sample::{DeviceInfo, DeviceType, SyncSample};

/// Builds an [`Import`] record by record.
#[derive(Default)]
struct Collector {
    grouper: Grouper,
    counts: Counts,
    skipped: Vec<Skipped>,
}

impl Collector {
    /// Counts a new record and returns its 1-based number.
    fn record(&mut self) -> usize {
        self.counts.records += 1;
        self.counts.records
    }

    fn sample(&mut self, device: &DeviceInfo, sample: SyncSample) {
        if self.grouper.add(device, sample) {
            self.counts.imported += 1;
        } else {
            self.counts.duplicates += 1;
        }
    }

    fn skip(&mut self, record: usize, record_type: &str, reason: SkipReason) {
        self.counts.skipped += 1;
        self.skipped.push(Skipped {
            record,
            line: None,
            record_type: record_type.to_owned(),
            reason,
        });
    }

    fn not_measured(&mut self, what: &str) {
        *self.counts.not_measured.entry(what.to_owned()).or_insert(0) += 1;
    }

    fn ignore_type(&mut self, record_type: &str) {
        *self
            .counts
            .ignored_types
            .entry(record_type.to_owned())
            .or_insert(0) += 1;
    }

    fn finish(self) -> Import {
        Import {
            devices: self.grouper.into_devices(),
            skipped: self.skipped,
            counts: self.counts,
        }
    }
}

fn parse_json(json: &str, what: &str) -> Result<Value, ImportError> {
    serde_json::from_str(json).map_err(|e| ImportError::Json {
        what: what.to_owned(),
        reason: e.to_string(),
    })
}

fn missing(what: &str, field: &str) -> ImportError {
    ImportError::Json {
        what: what.to_owned(),
        reason: format!("no \"{field}\""),
    }
}

/// A wall-clock time in `tz`. In a daylight-saving fold the earlier reading is taken; a time
/// in a spring-forward gap does not exist and gives `None`.
fn at_local<Tz: TimeZone>(tz: &Tz, local: NaiveDateTime) -> Option<DateTime<FixedOffset>> {
    tz.from_local_datetime(&local)
        .earliest()
        .map(|d| d.fixed_offset())
}

/// An instant, written with the offset `tz` has at that instant.
fn at_instant<Tz: TimeZone>(tz: &Tz, secs: i64, nanos: u32) -> Option<DateTime<FixedOffset>> {
    tz.timestamp_opt(secs, nanos)
        .single()
        .map(|d| d.fixed_offset())
}

fn sample(
    sample_type: &'static str,
    value: f64,
    unit: &'static str,
    (start, end): (DateTime<FixedOffset>, DateTime<FixedOffset>),
    source_app: &str,
) -> SyncSample {
    SyncSample {
        sample_type,
        value,
        unit,
        start_date: start,
        end_date: end,
        source_app: Some(source_app.to_owned()),
        metadata: Default::default(),
    }
}

fn device(device_type: DeviceType, name: &str, identifier: String) -> DeviceInfo {
    DeviceInfo {
        device_type,
        device_name: name.to_owned(),
        device_identifier: identifier,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn local_times_get_the_zone_offset() {
        let plus2 = FixedOffset::east_opt(7200).unwrap();
        let local = NaiveDate::from_ymd_opt(2015, 8, 21)
            .unwrap()
            .and_hms_opt(0, 1, 0)
            .unwrap();
        assert_eq!(
            at_local(&plus2, local).unwrap().to_rfc3339(),
            "2015-08-21T00:01:00+02:00"
        );
        assert_eq!(
            at_instant(&plus2, 0, 0).unwrap().to_rfc3339(),
            "1970-01-01T02:00:00+02:00"
        );
    }

    #[test]
    fn collector_accounts_for_every_record() {
        let mut c = Collector::default();
        let d = device(DeviceType::ThirdPartyWearable, "Fitbit", "fitbit".into());
        let t = at_instant(&chrono::Utc, 0, 0).unwrap();
        for _ in 0..2 {
            c.record();
            c.sample(&d, sample("STEPS", 5.0, "count", (t, t), "Fitbit"));
        }
        let n = c.record();
        c.skip(n, "steps", SkipReason::Malformed("no value".into()));
        c.record();
        c.not_measured("zero-step interval");
        let import = c.finish();
        assert_eq!((import.counts.imported, import.counts.duplicates), (1, 1));
        assert!(import.counts.is_consistent());
        assert_eq!(import.skipped[0].record, 3);
    }
}
