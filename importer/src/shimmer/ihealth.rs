//! iHealth blood oxygen (`spo2.json`): `BODataList` entries with `BO` (SpO2, %), `HR` (pulse,
//! bpm), `MDate` and `TimeZone`.
//!
//! `MDate` is not a true epoch: it is the local wall-clock time written as if it were UTC,
//! and `TimeZone` (`"-0600"`, or a number of hours) is the offset it was local to. A value
//! of 0 is how iHealth writes a missing measurement. `DataSource: "Manual"` entries were typed
//! in and go to a manual-entry device.

use chrono::{DateTime, FixedOffset, TimeZone};
use serde_json::Value;

use super::{device, missing, parse_json, sample, Collector};
use crate::error::ImportError;
use crate::import::{Import, SkipReason};
use crate::sample::DeviceType;

const WHAT: &str = "iHealth SpO2 response";

/// (field, our type, unit) of each entry's measurements.
const FIELDS: [(&str, &str, &str); 2] = [
    ("BO", "OXYGEN_SATURATION", "%"),
    ("HR", "HEART_RATE", "bpm"),
];

/// Parses one response; iHealth gives each entry its own offset.
pub fn import_ihealth_spo2(json: &str) -> Result<Import, ImportError> {
    let root = parse_json(json, WHAT)?;
    let entries = root["BODataList"]
        .as_array()
        .ok_or_else(|| missing(WHAT, "BODataList"))?;
    let oximeter = device(
        DeviceType::ThirdPartyWearable,
        "iHealth pulse oximeter",
        "ihealth:pulse-oximeter".to_owned(),
    );
    let manual = device(
        DeviceType::ManualEntry,
        "Manual entries (iHealth)",
        "ihealth:manual-entry".to_owned(),
    );
    let mut out = Collector::default();
    for entry in entries {
        let when = measured_at(entry);
        let target = if entry["DataSource"].as_str() == Some("Manual") {
            &manual
        } else {
            &oximeter
        };
        for (field, sample_type, unit) in FIELDS {
            if entry.get(field).is_none() {
                continue;
            }
            let record = out.record();
            match (entry[field].as_f64().filter(|v| v.is_finite()), &when) {
                (None, _) => out.skip(
                    record,
                    field,
                    SkipReason::BadValue(entry[field].to_string()),
                ),
                (Some(0.0), _) => out.not_measured("iHealth 0 (missing value)"),
                (_, Err(reason)) => out.skip(record, field, reason.clone()),
                (Some(value), Ok(at)) => {
                    let mut s = sample(sample_type, value, unit, (*at, *at), "iHealth");
                    for (key, name) in [("DataID", "ihealth_data_id"), ("Note", "note")] {
                        if let Some(text) =
                            entry[key].as_str().map(str::trim).filter(|t| !t.is_empty())
                        {
                            s.metadata.insert(name.to_owned(), text.to_owned());
                        }
                    }
                    out.sample(target, s);
                }
            }
        }
    }
    Ok(out.finish())
}

fn measured_at(entry: &Value) -> Result<DateTime<FixedOffset>, SkipReason> {
    let offset = offset(&entry["TimeZone"]).ok_or_else(|| {
        SkipReason::Malformed(format!("TimeZone {} is not an offset", entry["TimeZone"]))
    })?;
    let local = entry["MDate"]
        .as_i64()
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .ok_or_else(|| {
            SkipReason::Malformed(format!("MDate {} is not epoch seconds", entry["MDate"]))
        })?;
    offset
        .from_local_datetime(&local.naive_utc())
        .single()
        .ok_or_else(|| SkipReason::Malformed("MDate out of range".to_owned()))
}

/// `"-0600"`, `"+05:30"`, `"-6"` or the number -6.
fn offset(v: &Value) -> Option<FixedOffset> {
    let seconds = match v {
        Value::Number(n) => n.as_i64()? * 3600,
        Value::String(s) => {
            let s = s.trim();
            let (sign, digits) = match s.strip_prefix('-') {
                Some(rest) => (-1, rest),
                None => (1, s.strip_prefix('+').unwrap_or(s)),
            };
            let digits = digits.replace(':', "");
            let (h, m) = match digits.len() {
                1 | 2 => (digits.parse::<i64>().ok()?, 0),
                4 => (
                    digits[..2].parse::<i64>().ok()?,
                    digits[2..].parse::<i64>().ok()?,
                ),
                _ => return None,
            };
            sign * (h * 3600 + m * 60)
        }
        _ => return None,
    };
    FixedOffset::east_opt(i32::try_from(seconds).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn offsets_in_all_spellings() {
        assert_eq!(offset(&json!("-0600")), FixedOffset::west_opt(6 * 3600));
        assert_eq!(
            offset(&json!("+05:30")),
            FixedOffset::east_opt(5 * 3600 + 1800)
        );
        assert_eq!(offset(&json!("-6")), FixedOffset::west_opt(6 * 3600));
        assert_eq!(offset(&json!(2)), FixedOffset::east_opt(2 * 3600));
        assert_eq!(offset(&json!("CET")), None);
        assert_eq!(offset(&json!(null)), None);
    }

    #[test]
    fn mdate_is_local_time_in_the_entry_offset() {
        let at = measured_at(&json!({"MDate": 1443023160, "TimeZone": "-0600"})).unwrap();
        assert_eq!(at.to_rfc3339(), "2015-09-23T15:46:00-06:00");
    }

    #[test]
    fn zero_is_missing_and_manual_entries_are_separate() {
        let body = json!({"BODataList": [
            {"BO": 0, "HR": 70, "MDate": 1443023160, "TimeZone": "-0600", "DataSource": "FromDevice"},
            {"BO": 95, "MDate": 1443023160, "TimeZone": "-0600", "DataSource": "Manual", "Note": " "}]});
        let import = import_ihealth_spo2(&body.to_string()).unwrap();
        let ids: Vec<&str> = import
            .devices
            .iter()
            .map(|d| d.device.device_identifier.as_str())
            .collect();
        assert_eq!(ids, ["ihealth:pulse-oximeter", "ihealth:manual-entry"]);
        assert_eq!(import.devices[1].samples[0].unit, "%");
        assert!(
            import.devices[1].samples[0].metadata.is_empty(),
            "blank notes are dropped"
        );
        assert_eq!(import.counts.not_measured["iHealth 0 (missing value)"], 1);
        assert!(import.counts.is_consistent());
    }
}
