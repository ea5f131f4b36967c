//! One [`Record`] → one [`Outcome`]: the mapping table, dates, units and device identity
//! applied, every problem turned into a reported reason rather than a panic or a guess.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};

use super::dates::parse_date;
use super::device::{device_info, parse_device};
use super::types::{is_healthkit_identifier, lookup, sleep_value, Kind, SleepValue, TypeMapping};
use super::units::to_gateway;
use super::xml::Record;
use super::{Ignored, Outcome};
use crate::import::{SkipReason, Skipped};
use crate::sample::SyncSample;

/// The metadata key with which HealthKit marks values a person typed in.
const USER_ENTERED: &str = "HKWasUserEntered";

/// What becomes of one record; never panics, whatever the record holds.
pub fn convert_record(record: Record) -> Outcome {
    match try_convert(&record) {
        Ok(outcome) => outcome,
        Err(reason) => Outcome::Skipped(Skipped {
            record: record.number,
            line: Some(record.line),
            record_type: record.record_type,
            reason,
        }),
    }
}

fn try_convert(r: &Record) -> Result<Outcome, SkipReason> {
    if r.record_type.is_empty() {
        return Err(match &r.decode_error {
            Some((attribute, reason)) => SkipReason::BadAttribute {
                attribute: attribute.clone(),
                reason: reason.clone(),
            },
            None => SkipReason::MissingAttribute("type"),
        });
    }
    if !is_healthkit_identifier(&r.record_type) {
        return Err(SkipReason::UnknownRecordType(r.record_type.clone()));
    }
    let Some(mapping) = lookup(&r.record_type) else {
        return Ok(Outcome::Ignored(Ignored::UnmappedType(
            r.record_type.clone(),
        )));
    };
    if let Some((attribute, reason)) = &r.decode_error {
        return Err(SkipReason::BadAttribute {
            attribute: attribute.clone(),
            reason: reason.clone(),
        });
    }
    if mapping.kind == Kind::Sleep {
        let value = required(&r.value, "value")?;
        match sleep_value(value) {
            SleepValue::Asleep => {}
            SleepValue::NotAsleep => {
                return Ok(Outcome::Ignored(Ignored::NotAsleep(value.to_owned())))
            }
            SleepValue::Unknown => return Err(SkipReason::UnknownSleepValue(value.to_owned())),
        }
    }
    let source_name = required(&r.source_name, "sourceName")?;
    let start = date(&r.start_date, "startDate")?;
    let end = date(&r.end_date, "endDate")?;
    if end < start {
        return Err(SkipReason::EndBeforeStart { start, end });
    }
    let (value, unit) = value_and_unit(r, mapping, start, end)?;
    let metadata: BTreeMap<String, String> = r.metadata.iter().cloned().collect();
    let user_entered = metadata.get(USER_ENTERED).is_some_and(|v| v.trim() == "1");
    let device = r.device.as_deref().map(parse_device);
    Ok(Outcome::Sample {
        device: device_info(source_name, device.as_ref(), user_entered),
        sample: SyncSample {
            sample_type: mapping.sample_type,
            value,
            unit,
            start_date: start,
            end_date: end,
            source_app: Some(source_name.to_owned()),
            metadata,
        },
    })
}

/// Quantities: the `value` and `unit` attributes, unit translated. Sleep: minutes asleep.
fn value_and_unit(
    r: &Record,
    mapping: &TypeMapping,
    start: DateTime<FixedOffset>,
    end: DateTime<FixedOffset>,
) -> Result<(f64, &'static str), SkipReason> {
    if mapping.kind == Kind::Sleep {
        let minutes = (end - start).num_milliseconds() as f64 / 60_000.0;
        return Ok((minutes, "min"));
    }
    let text = required(&r.value, "value")?;
    let value = text
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| SkipReason::BadValue(text.to_owned()))?;
    let unit = required(&r.unit, "unit")?;
    to_gateway(mapping, unit, value).ok_or_else(|| SkipReason::UnsupportedUnit {
        unit: unit.to_owned(),
        sample_type: mapping.sample_type,
    })
}

fn required<'a>(field: &'a Option<String>, attribute: &'static str) -> Result<&'a str, SkipReason> {
    field
        .as_deref()
        .ok_or(SkipReason::MissingAttribute(attribute))
}

fn date(
    field: &Option<String>,
    attribute: &'static str,
) -> Result<DateTime<FixedOffset>, SkipReason> {
    let text = required(field, attribute)?;
    parse_date(text).ok_or_else(|| SkipReason::BadDate {
        attribute,
        value: text.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::DeviceType;

    fn record(record_type: &str, value: &str, unit: Option<&str>) -> Record {
        Record {
            number: 7,
            line: 42,
            record_type: record_type.into(),
            source_name: Some("Jonathan’s iPhone".into()),
            unit: unit.map(Into::into),
            start_date: Some("2017-10-23 08:15:00 +0200".into()),
            end_date: Some("2017-10-23 08:30:00 +0200".into()),
            value: Some(value.into()),
            ..Record::default()
        }
    }

    fn sample(outcome: Outcome) -> (crate::sample::DeviceInfo, SyncSample) {
        match outcome {
            Outcome::Sample { device, sample } => (device, sample),
            other => panic!("expected a sample, got {other:?}"),
        }
    }

    fn reason(outcome: Outcome) -> SkipReason {
        match outcome {
            Outcome::Skipped(s) => {
                assert_eq!((s.record, s.line), (7, Some(42)));
                s.reason
            }
            other => panic!("expected a skip, got {other:?}"),
        }
    }

    #[test]
    fn quantity_record_becomes_a_sample() {
        let mut r = record("HKQuantityTypeIdentifierStepCount", "612", Some("count"));
        r.device = Some("<<HKDevice: 0x1>, name:iPhone, model:iPhone, hardware:iPhone8,1>".into());
        r.metadata
            .push(("HKMetadataKeySyncIdentifier".into(), "ABC".into()));
        let (device, s) = sample(convert_record(r));
        assert_eq!(device.device_type, DeviceType::Iphone);
        assert_eq!((s.sample_type, s.value, s.unit), ("STEPS", 612.0, "count"));
        assert_eq!(s.start_date.to_rfc3339(), "2017-10-23T08:15:00+02:00");
        assert_eq!(s.source_app.as_deref(), Some("Jonathan’s iPhone"));
        assert_eq!(s.metadata["HKMetadataKeySyncIdentifier"], "ABC");
    }

    #[test]
    fn user_entered_goes_to_the_manual_device() {
        let mut r = record("HKQuantityTypeIdentifierStepCount", "30000", Some("count"));
        r.metadata.push((USER_ENTERED.into(), "1".into()));
        let (device, s) = sample(convert_record(r));
        assert_eq!(device.device_type, DeviceType::ManualEntry);
        assert_eq!(s.metadata[USER_ENTERED], "1");
    }

    #[test]
    fn asleep_is_minutes_and_in_bed_is_ignored() {
        let r = record(
            "HKCategoryTypeIdentifierSleepAnalysis",
            "HKCategoryValueSleepAnalysisAsleepCore",
            None,
        );
        let (_, s) = sample(convert_record(r));
        assert_eq!(
            (s.sample_type, s.value, s.unit),
            ("SLEEP_ANALYSIS", 15.0, "min")
        );
        let r = record(
            "HKCategoryTypeIdentifierSleepAnalysis",
            "HKCategoryValueSleepAnalysisInBed",
            None,
        );
        assert_eq!(
            convert_record(r),
            Outcome::Ignored(Ignored::NotAsleep(
                "HKCategoryValueSleepAnalysisInBed".into()
            ))
        );
        let r = record("HKCategoryTypeIdentifierSleepAnalysis", "Napping", None);
        assert_eq!(
            reason(convert_record(r)),
            SkipReason::UnknownSleepValue("Napping".into())
        );
    }

    #[test]
    fn unmapped_types_are_ignored_and_non_healthkit_types_skipped() {
        let r = record("HKQuantityTypeIdentifierDietaryProtein", "59", Some("g"));
        assert_eq!(
            convert_record(r),
            Outcome::Ignored(Ignored::UnmappedType(
                "HKQuantityTypeIdentifierDietaryProtein".into()
            ))
        );
        let r = record("c", "68.0391", Some("dBASPL"));
        assert_eq!(
            reason(convert_record(r)),
            SkipReason::UnknownRecordType("c".into())
        );
    }

    #[test]
    fn bad_fields_are_reported() {
        let r = record(
            "HKQuantityTypeIdentifierHeartRate",
            "seventy",
            Some("count/min"),
        );
        assert_eq!(
            reason(convert_record(r)),
            SkipReason::BadValue("seventy".into())
        );
        let r = record(
            "HKQuantityTypeIdentifierHeartRate",
            "NaN",
            Some("count/min"),
        );
        assert_eq!(
            reason(convert_record(r)),
            SkipReason::BadValue("NaN".into())
        );
        let r = record("HKQuantityTypeIdentifierHeartRate", "70", Some("Hz"));
        assert!(matches!(
            reason(convert_record(r)),
            SkipReason::UnsupportedUnit { .. }
        ));
        let r = record("HKQuantityTypeIdentifierHeartRate", "70", None);
        assert_eq!(
            reason(convert_record(r)),
            SkipReason::MissingAttribute("unit")
        );
        let mut r = record("HKQuantityTypeIdentifierHeartRate", "70", Some("count/min"));
        r.start_date = Some("23/10/2017".into());
        assert!(matches!(
            reason(convert_record(r)),
            SkipReason::BadDate {
                attribute: "startDate",
                ..
            }
        ));
        let mut r = record("HKQuantityTypeIdentifierHeartRate", "70", Some("count/min"));
        r.end_date = Some("2017-10-23 08:00:00 +0200".into());
        assert!(matches!(
            reason(convert_record(r)),
            SkipReason::EndBeforeStart { .. }
        ));
        let mut r = record("HKQuantityTypeIdentifierHeartRate", "70", Some("count/min"));
        r.decode_error = Some(("device".into(), "bad escape".into()));
        assert!(matches!(
            reason(convert_record(r)),
            SkipReason::BadAttribute { .. }
        ));
    }

    #[test]
    fn fraction_types_send_fraction() {
        let r = record(
            "HKQuantityTypeIdentifierOxygenSaturation",
            "0.97",
            Some("%"),
        );
        let (_, s) = sample(convert_record(r));
        assert_eq!((s.value, s.unit), (0.97, "fraction"));
    }
}
