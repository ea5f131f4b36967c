//! Withings intraday activity (`getintradayactivity`): `body.series` maps an epoch second to
//! the interval starting then, with its `duration` and any of `steps`, `distance` (m),
//! `calories` (kcal, active) and `elevation` (m climbed).
//!
//! Intervals holding only a duration are idle time, not measurements. Elevation in metres has
//! no type of ours (FLIGHTS_CLIMBED counts floors), so it is counted as ignored.

use chrono::{TimeDelta, TimeZone};
use serde_json::Value;

use super::{at_instant, device, missing, parse_json, sample, Collector};
use crate::error::ImportError;
use crate::import::{Import, SkipReason};
use crate::sample::DeviceType;

const WHAT: &str = "Withings intraday activity response";

/// Measured fields: (field, our type, unit); `None` for a field we do not import.
const FIELDS: [(&str, Option<(&str, &str)>); 4] = [
    ("steps", Some(("STEPS", "count"))),
    ("distance", Some(("DISTANCE", "m"))),
    ("calories", Some(("ACTIVE_ENERGY", "kcal"))),
    ("elevation", None),
];

/// Parses one response; `tz` gives the offset every instant is written with.
pub fn import_withings_intraday_activity<Tz: TimeZone>(
    json: &str,
    tz: &Tz,
) -> Result<Import, ImportError> {
    let root = parse_json(json, WHAT)?;
    let series = root["body"]["series"]
        .as_object()
        .ok_or_else(|| missing(WHAT, "body.series"))?;
    let tracker = device(
        DeviceType::ThirdPartyWearable,
        "Withings activity tracker",
        "withings:activity".to_owned(),
    );
    let mut out = Collector::default();
    for (epoch, interval) in series {
        let measured: Vec<_> = FIELDS
            .iter()
            .filter(|(field, _)| interval.get(field).is_some())
            .collect();
        if measured.is_empty() {
            out.record();
            out.not_measured("interval without activity");
            continue;
        }
        let times = times(epoch, interval, tz);
        for &&(field, mapping) in &measured {
            let record = out.record();
            let Some((sample_type, unit)) = mapping else {
                out.ignore_type(&format!("withings {field}"));
                continue;
            };
            let value = interval[field].as_f64().filter(|v| v.is_finite());
            match (value, &times) {
                (None, _) => out.skip(
                    record,
                    field,
                    SkipReason::BadValue(interval[field].to_string()),
                ),
                (_, Err(reason)) => out.skip(record, field, reason.clone()),
                (Some(0.0), _) if sample_type == "STEPS" => out.not_measured("zero-step interval"),
                (Some(value), Ok(span)) => out.sample(
                    &tracker,
                    sample(sample_type, value, unit, *span, "Withings"),
                ),
            }
        }
    }
    Ok(out.finish())
}

type Span = (
    chrono::DateTime<chrono::FixedOffset>,
    chrono::DateTime<chrono::FixedOffset>,
);

fn times<Tz: TimeZone>(epoch: &str, interval: &Value, tz: &Tz) -> Result<Span, SkipReason> {
    let start = epoch
        .parse::<i64>()
        .ok()
        .and_then(|secs| at_instant(tz, secs, 0))
        .ok_or_else(|| {
            SkipReason::Malformed(format!("series key {epoch:?} is not epoch seconds"))
        })?;
    let duration = interval["duration"]
        .as_i64()
        .filter(|d| *d >= 0)
        .ok_or_else(|| {
            SkipReason::Malformed(format!(
                "duration {} is not a number of seconds",
                interval["duration"]
            ))
        })?;
    Ok((start, start + TimeDelta::seconds(duration)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    #[test]
    fn each_measured_field_is_a_record() {
        let json = r#"{"body": {"series": {
            "1434758640": {"calories": 1, "distance": 15, "duration": 60, "elevation": 0, "steps": 21},
            "1434758700": {"duration": 1440},
            "1434760140": {"steps": "many", "duration": 60}}}}"#;
        let tz = FixedOffset::east_opt(2 * 3600).unwrap();
        let import = import_withings_intraday_activity(json, &tz).unwrap();
        let samples = &import.devices[0].samples;
        let kinds: Vec<(&str, f64, &str)> = samples
            .iter()
            .map(|s| (s.sample_type, s.value, s.unit))
            .collect();
        assert_eq!(
            kinds,
            [
                ("STEPS", 21.0, "count"),
                ("DISTANCE", 15.0, "m"),
                ("ACTIVE_ENERGY", 1.0, "kcal")
            ]
        );
        assert_eq!(
            samples[0].start_date.to_rfc3339(),
            "2015-06-20T02:04:00+02:00"
        );
        assert_eq!(
            samples[0].end_date.to_rfc3339(),
            "2015-06-20T02:05:00+02:00"
        );
        let c = &import.counts;
        assert_eq!((c.records, c.imported, c.skipped), (6, 3, 1));
        assert_eq!(c.ignored_types["withings elevation"], 1);
        assert!(c.is_consistent());
    }
}
