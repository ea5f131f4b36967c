//! Fitbit intraday time series (`activities/steps` and `activities/heart` at 1-minute or
//! 1-second detail): one day's date in the summary, then `HH:MM:SS` local times.
//!
//! Each value covers one dataset interval, so a sample spans `[time, time + interval)`.
//! Zero-step intervals are not imported (shimmer does the same): Fitbit lists every minute
//! of the day, and a zero adds nothing to a sum.

use chrono::{NaiveDate, NaiveTime, TimeDelta, TimeZone};
use serde_json::Value;

use super::{at_local, device, missing, parse_json, sample, Collector};
use crate::error::ImportError;
use crate::import::{Import, SkipReason};
use crate::sample::DeviceType;

const WHAT: &str = "Fitbit intraday response";

/// The two series we read: (summary key, intraday key, our type, unit).
const SERIES: [(&str, &str, &str, &str); 2] = [
    (
        "activities-steps",
        "activities-steps-intraday",
        "STEPS",
        "count",
    ),
    (
        "activities-heart",
        "activities-heart-intraday",
        "HEART_RATE",
        "bpm",
    ),
];

/// Parses one intraday response; `tz` is the Fitbit account's time zone.
pub fn import_fitbit_intraday<Tz: TimeZone>(json: &str, tz: &Tz) -> Result<Import, ImportError> {
    let root = parse_json(json, WHAT)?;
    let &(summary_key, intraday_key, sample_type, unit) = SERIES
        .iter()
        .find(|(_, intraday, _, _)| root.get(intraday).is_some())
        .ok_or_else(|| {
            missing(
                WHAT,
                "activities-steps-intraday or activities-heart-intraday",
            )
        })?;
    let date = root[summary_key][0]["dateTime"]
        .as_str()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .ok_or_else(|| missing(WHAT, &format!("{summary_key}[0].dateTime")))?;
    let intraday = &root[intraday_key];
    let interval = interval(intraday)?;
    let dataset = intraday["dataset"]
        .as_array()
        .ok_or_else(|| missing(WHAT, "dataset"))?;
    let fitbit = device(
        DeviceType::ThirdPartyWearable,
        "Fitbit",
        "fitbit".to_owned(),
    );
    let mut out = Collector::default();
    for point in dataset {
        let record = out.record();
        match read_point(point, date, tz) {
            Err(reason) => out.skip(record, intraday_key, reason),
            Ok((_, value)) if sample_type == "STEPS" && value == 0.0 => {
                out.not_measured("zero-step interval")
            }
            Ok((start, value)) => out.sample(
                &fitbit,
                sample(
                    sample_type,
                    value,
                    unit,
                    (start, start + interval),
                    "Fitbit",
                ),
            ),
        }
    }
    Ok(out.finish())
}

fn interval(intraday: &Value) -> Result<TimeDelta, ImportError> {
    let n = intraday["datasetInterval"].as_i64().unwrap_or(1);
    match intraday["datasetType"].as_str() {
        Some("minute") => Ok(TimeDelta::minutes(n)),
        Some("second") => Ok(TimeDelta::seconds(n)),
        other => Err(ImportError::Json {
            what: WHAT.to_owned(),
            reason: format!("datasetType {other:?}"),
        }),
    }
}

fn read_point<Tz: TimeZone>(
    point: &Value,
    date: NaiveDate,
    tz: &Tz,
) -> Result<(chrono::DateTime<chrono::FixedOffset>, f64), SkipReason> {
    let time_text = point["time"].as_str().unwrap_or_default();
    let time = NaiveTime::parse_from_str(time_text, "%H:%M:%S")
        .map_err(|_| SkipReason::Malformed(format!("time {:?} is not HH:MM:SS", point["time"])))?;
    let value = point["value"]
        .as_f64()
        .filter(|v| v.is_finite())
        .ok_or_else(|| SkipReason::BadValue(point["value"].to_string()))?;
    let start = at_local(tz, date.and_time(time)).ok_or_else(|| {
        SkipReason::Malformed(format!(
            "{date} {time_text} does not exist in the time zone"
        ))
    })?;
    Ok((start, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    const STEPS: &str = r#"{"activities-steps": [{"dateTime": "2015-08-21", "value": "59"}],
        "activities-steps-intraday": {"dataset": [
            {"time": "00:00:00", "value": 7}, {"time": "14:27:00", "value": 0},
            {"time": "25:00:00", "value": 3}, {"time": "14:28:00", "value": 52}],
        "datasetInterval": 1, "datasetType": "minute"}}"#;

    #[test]
    fn steps_per_minute_in_the_given_zone() {
        let tz = FixedOffset::west_opt(6 * 3600).unwrap();
        let import = import_fitbit_intraday(STEPS, &tz).unwrap();
        let samples = &import.devices[0].samples;
        assert_eq!(samples.len(), 2);
        assert_eq!(
            samples[1].start_date.to_rfc3339(),
            "2015-08-21T14:28:00-06:00"
        );
        assert_eq!(
            samples[1].end_date.to_rfc3339(),
            "2015-08-21T14:29:00-06:00"
        );
        assert_eq!((samples[1].value, samples[1].unit), (52.0, "count"));
        let c = &import.counts;
        assert_eq!(
            (c.records, c.skipped, c.not_measured["zero-step interval"]),
            (4, 1, 1)
        );
        assert!(c.is_consistent());
    }

    #[test]
    fn responses_without_a_series_are_errors() {
        let tz = FixedOffset::east_opt(0).unwrap();
        assert!(import_fitbit_intraday(r#"{"sleep": []}"#, &tz).is_err());
        assert!(import_fitbit_intraday("not json", &tz).is_err());
    }
}
