//! Google Fit REST datasets (`point` arrays of merged step deltas and heart rate), with
//! times in nanoseconds since the epoch.
//!
//! A merged stream already combines Google's sources; each point still names its origin
//! (`originDataSourceId`, `type:dataType:app[:maker:model:uid]:stream`), which becomes the
//! device, so that our own deduplication can rank them. Points typed in by the user
//! (stream `user_input`) go to a manual-entry device.

use chrono::{DateTime, FixedOffset, TimeZone};
use serde_json::Value;

use super::{at_instant, device, missing, parse_json, sample, Collector};
use crate::error::ImportError;
use crate::import::{Import, SkipReason};
use crate::sample::{DeviceInfo, DeviceType};

const WHAT: &str = "Google Fit dataset";

/// Parses one dataset response; `tz` gives the offset every instant is written with.
pub fn import_google_fit<Tz: TimeZone>(json: &str, tz: &Tz) -> Result<Import, ImportError> {
    let root = parse_json(json, WHAT)?;
    let points = root["point"]
        .as_array()
        .ok_or_else(|| missing(WHAT, "point"))?;
    let mut out = Collector::default();
    for point in points {
        let record = out.record();
        let data_type = point["dataTypeName"].as_str().unwrap_or_default();
        let (sample_type, unit, field) = match data_type {
            "com.google.step_count.delta" => ("STEPS", "count", "intVal"),
            "com.google.heart_rate.bpm" => ("HEART_RATE", "bpm", "fpVal"),
            other => {
                out.ignore_type(other);
                continue;
            }
        };
        let value = point["value"][0][field].as_f64().filter(|v| v.is_finite());
        let times = (
            nanos(&point["startTimeNanos"], tz),
            nanos(&point["endTimeNanos"], tz),
        );
        let origin = point["originDataSourceId"].as_str().unwrap_or_default();
        match (value, times) {
            (Some(0.0), _) if sample_type == "STEPS" => out.not_measured("zero-step interval"),
            (Some(value), (Some(start), Some(end))) if start <= end => {
                let (info, app) = origin_device(origin);
                let mut s = sample(sample_type, value, unit, (start, end), &app);
                if !origin.is_empty() {
                    s.metadata
                        .insert("originDataSourceId".to_owned(), origin.to_owned());
                }
                out.sample(&info, s);
            }
            (None, _) => out.skip(
                record,
                data_type,
                SkipReason::BadValue(point["value"].to_string()),
            ),
            _ => out.skip(
                record,
                data_type,
                SkipReason::Malformed("bad startTimeNanos/endTimeNanos".to_owned()),
            ),
        }
    }
    Ok(out.finish())
}

/// Google writes nanoseconds as a decimal string (too large for a JSON double).
fn nanos<Tz: TimeZone>(v: &Value, tz: &Tz) -> Option<DateTime<FixedOffset>> {
    let n: i64 = v.as_str()?.parse().ok()?;
    at_instant(
        tz,
        n.div_euclid(1_000_000_000),
        n.rem_euclid(1_000_000_000) as u32,
    )
}

/// The device (and app name) of a data source id.
fn origin_device(origin: &str) -> (DeviceInfo, String) {
    let parts: Vec<&str> = origin.split(':').collect();
    let app = parts
        .get(2)
        .copied()
        .filter(|a| !a.is_empty())
        .unwrap_or("Google Fit")
        .to_owned();
    let stream = parts.last().copied().unwrap_or_default();
    if stream == "user_input" {
        let info = device(
            DeviceType::ManualEntry,
            "Manual entries (Google Fit)",
            "google-fit:manual-entry".to_owned(),
        );
        return (info, app);
    }
    let info = match parts.as_slice() {
        [_, _, _, maker, model, uid, _, ..] => device(
            DeviceType::ThirdPartyWearable,
            &format!("{maker} {model}"),
            format!("google-fit:{maker}:{model}:{uid}"),
        ),
        _ => device(
            DeviceType::ThirdPartyWearable,
            &app,
            format!("google-fit:{app}"),
        ),
    };
    (info, app)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_become_devices() {
        let (d, app) = origin_device("derived:com.google.step_count.delta:com.nike.plusgps:");
        assert_eq!(
            (d.device_identifier.as_str(), app.as_str()),
            ("google-fit:com.nike.plusgps", "com.nike.plusgps")
        );
        let phone = "derived:com.google.step_count.cumulative:com.google.android.gms:samsung:Galaxy Nexus:32b1bd9e:soft_step_counter";
        let (d, _) = origin_device(phone);
        assert_eq!(
            d.device_identifier,
            "google-fit:samsung:Galaxy Nexus:32b1bd9e"
        );
        assert_eq!(d.device_name, "samsung Galaxy Nexus");
        let (d, _) = origin_device(
            "raw:com.google.step_count.delta:com.google.android.apps.fitness:user_input",
        );
        assert_eq!(d.device_type, DeviceType::ManualEntry);
        assert_eq!(
            origin_device("").0.device_identifier,
            "google-fit:Google Fit"
        );
    }

    #[test]
    fn nanosecond_strings_keep_sub_second_precision() {
        let utc = chrono::Utc;
        let t = nanos(&Value::from("1436566038006058105"), &utc).unwrap();
        assert_eq!(t.to_rfc3339(), "2015-07-10T22:07:18.006058105+00:00");
        assert_eq!(
            nanos(&Value::from(5), &utc),
            None,
            "numbers lose precision: refused"
        );
    }

    #[test]
    fn other_data_types_are_ignored() {
        let json = r#"{"point": [{"dataTypeName": "com.google.calories.expended", "value": [{"fpVal": 1.0}]}]}"#;
        let import = import_google_fit(json, &chrono::Utc).unwrap();
        assert_eq!(
            import.counts.ignored_types["com.google.calories.expended"],
            1
        );
        assert!(import.counts.is_consistent());
    }
}
