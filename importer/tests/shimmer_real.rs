//! The shimmer parsers on the real third-party API responses in the shared real-data folder.

mod common;

use std::fs;

use chrono::{FixedOffset, Utc};
use common::{domain_check, exported_at, real_file};
use healthpipe_importer::shimmer::{
    import_fitbit_intraday, import_google_fit, import_ihealth_spo2,
    import_withings_intraday_activity,
};
use healthpipe_importer::{DeviceType, Import};

fn read(name: &str) -> String {
    fs::read_to_string(real_file(&format!("openmhealth-shimmer/{name}"))).expect("readable")
}

fn plus2() -> FixedOffset {
    FixedOffset::east_opt(2 * 3600).unwrap()
}

/// Values of one type, in order, across devices.
fn values(import: &Import, t: &str) -> Vec<f64> {
    import
        .samples()
        .filter(|(_, s)| s.sample_type == t)
        .map(|(_, s)| s.value)
        .collect()
}

fn check_common(name: &str, import: &Import) {
    assert!(import.counts.is_consistent(), "{name}: {:?}", import.counts);
    assert!(import.skipped.is_empty(), "{name}: {:?}", import.skipped);
    let now = exported_at(import);
    for (d, s) in import.samples() {
        domain_check(s, now).unwrap_or_else(|e| panic!("{name} {}: {s:?}: {e}", d.device_name));
    }
}

#[test]
fn fitbit_intraday_steps_and_heart_rate() {
    let steps = import_fitbit_intraday(
        &read("fitbit-activities-steps-1d-1m-intraday.json"),
        &plus2(),
    )
    .unwrap();
    check_common("fitbit steps", &steps);
    assert_eq!(values(&steps, "STEPS"), [7.0, 52.0]);
    assert_eq!(steps.counts.not_measured["zero-step interval"], 1);
    let first = &steps.devices[0].samples[0];
    assert_eq!(
        serde_json::to_value(first).unwrap()["start_date"],
        "2015-08-21T00:00:00+02:00"
    );
    assert_eq!(
        serde_json::to_value(first).unwrap()["end_date"],
        "2015-08-21T00:01:00+02:00"
    );

    let heart = import_fitbit_intraday(
        &read("fitbit-activities-heart-1d-1m-intraday.json"),
        &plus2(),
    )
    .unwrap();
    check_common("fitbit heart", &heart);
    assert_eq!(values(&heart, "HEART_RATE"), [64.0, 63.0, 64.0, 65.0, 65.0]);
    assert_eq!(heart.devices[0].device.device_identifier, "fitbit");
    assert!(heart.samples().all(|(_, s)| s.unit == "bpm"));

    let sleep = import_fitbit_intraday(&read("fitbit-sleep-date.json"), &plus2());
    assert!(
        sleep.unwrap_err().to_string().contains("intraday"),
        "sleep is not an intraday series"
    );
}

#[test]
fn google_fit_merged_steps_and_heart_rate_by_origin() {
    let steps = import_google_fit(&read("googlefit-merge-step-deltas.json"), &Utc).unwrap();
    check_common("google fit steps", &steps);
    let by_device: Vec<(&str, DeviceType, Vec<f64>)> = steps
        .devices
        .iter()
        .map(|d| {
            (
                d.device.device_identifier.as_str(),
                d.device.device_type,
                d.samples.iter().map(|s| s.value).collect(),
            )
        })
        .collect();
    assert_eq!(
        by_device,
        [
            (
                "google-fit:com.nike.plusgps",
                DeviceType::ThirdPartyWearable,
                vec![4146.0]
            ),
            (
                "google-fit:samsung:Galaxy Nexus:32b1bd9e",
                DeviceType::ThirdPartyWearable,
                vec![17.0]
            ),
            (
                "google-fit:manual-entry",
                DeviceType::ManualEntry,
                vec![184.0]
            ),
        ]
    );
    assert_eq!(
        steps.counts.not_measured["zero-step interval"], 1,
        "the 0-step user input"
    );
    let last = steps.devices[2].samples[0].end_date;
    assert_eq!(
        last.to_rfc3339(),
        "2015-07-10T22:07:18.006058105+00:00",
        "nanoseconds survive"
    );

    let heart = import_google_fit(&read("googlefit-merge-heart-rate.json"), &plus2()).unwrap();
    check_common("google fit heart", &heart);
    assert_eq!(values(&heart, "HEART_RATE"), [54.0, 58.0]);
    assert_eq!(heart.devices.len(), 2, "two heart-rate apps");
    let first = &heart.devices[0].samples[0];
    assert_eq!(first.start_date, first.end_date);
    assert_eq!(first.start_date.offset().local_minus_utc(), 7200);
    assert_eq!(
        first.metadata["originDataSourceId"],
        "raw:com.google.heart_rate.bpm:com.azumio.instantheartrate.full:"
    );
}

#[test]
fn withings_intraday_activity() {
    let import =
        import_withings_intraday_activity(&read("withings-intraday-activity.json"), &Utc).unwrap();
    check_common("withings", &import);
    assert_eq!(values(&import, "STEPS"), [21.0, 47.0, 20.0, 74.0]);
    assert_eq!(values(&import, "DISTANCE"), [15.0, 35.0, 17.0, 59.0]);
    assert_eq!(values(&import, "ACTIVE_ENERGY"), [1.0, 2.0, 1.0, 7.0]);
    let c = &import.counts;
    assert_eq!((c.records, c.imported), (18, 12));
    assert_eq!(c.not_measured["interval without activity"], 2);
    assert_eq!(c.ignored_types["withings elevation"], 4);
    let s = &import.devices[0].samples[0];
    assert_eq!(
        (s.start_date.to_rfc3339(), s.end_date.to_rfc3339()),
        (
            "2015-06-20T00:04:00+00:00".into(),
            "2015-06-20T00:05:00+00:00".into()
        )
    );
}

#[test]
fn ihealth_spo2_with_pulse_and_a_manual_entry() {
    let import = import_ihealth_spo2(&read("ihealth-spo2.json")).unwrap();
    check_common("ihealth", &import);
    let device = import
        .device("ihealth:pulse-oximeter")
        .expect("the oximeter");
    let got: Vec<_> = device
        .samples
        .iter()
        .map(|s| (s.sample_type, s.value, s.unit))
        .collect();
    assert_eq!(
        got,
        [
            ("OXYGEN_SATURATION", 99.0, "%"),
            ("HEART_RATE", 80.0, "bpm")
        ]
    );
    assert_eq!(
        device.samples[0].start_date.to_rfc3339(),
        "2015-09-23T15:46:00-06:00"
    );
    let manual = import
        .device("ihealth:manual-entry")
        .expect("the manual entry");
    assert_eq!(manual.device.device_type, DeviceType::ManualEntry);
    assert_eq!(manual.samples[0].value, 90.0);
    assert_eq!(manual.samples[0].metadata["note"], "Satch on satch");
}
