//! The Apple Health importer on the real exports in the shared real-data folder
//! (what each file holds is described in that folder's README).

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, FixedOffset};
use common::{domain_check, exported_at, import_apple, open, APPLE_FILES};
use healthpipe_importer::{
    convert_record, AppleHealthSamples, DeviceType, Import, ImportedDevice, Outcome, RecordReader,
};
use serde::Deserialize;

const IPHONE: &str = "apple-health:Jonathan’s iPhone:iPhone8,1";
const GARMIN: &str = "apple-health:Connect";
const MANUAL: &str = "apple-health:manual-entry";

fn device<'a>(import: &'a Import, identifier: &str) -> &'a ImportedDevice {
    import.device(identifier).unwrap_or_else(|| {
        let known: Vec<_> = import
            .devices
            .iter()
            .map(|d| &d.device.device_identifier)
            .collect();
        panic!("no device {identifier}; devices: {known:?}")
    })
}

fn of_type<'a>(
    d: &'a ImportedDevice,
    t: &'a str,
) -> impl Iterator<Item = &'a healthpipe_importer::SyncSample> {
    d.samples.iter().filter(move |s| s.sample_type == t)
}

#[test]
fn hkimport_iphone_and_garmin_steps_overlap_on_eight_october_days() {
    let import = import_apple("hkimport_export.xml");
    let iphone = device(&import, IPHONE);
    let garmin = device(&import, GARMIN);
    assert_eq!(iphone.device.device_type, DeviceType::Iphone);
    assert_eq!(garmin.device.device_type, DeviceType::ThirdPartyWearable);
    assert_eq!(garmin.device.device_name, "Connect");
    let phone_steps: Vec<_> = of_type(iphone, "STEPS")
        .map(|s| (s.start_date, s.end_date))
        .collect();
    let mut overlapping = 0;
    let mut days = BTreeSet::new();
    for s in of_type(garmin, "STEPS") {
        // Garmin writes 15-minute buckets.
        assert!(
            s.end_date - s.start_date <= chrono::TimeDelta::minutes(15),
            "{s:?}"
        );
        if phone_steps
            .iter()
            .any(|(start, end)| *start < s.end_date && s.start_date < *end)
        {
            overlapping += 1;
            days.insert(s.start_date.date_naive().to_string());
        }
    }
    assert_eq!(
        overlapping, 57,
        "the README counts 57 overlapping Garmin step samples"
    );
    assert_eq!(days.len(), 8, "{days:?}");
    assert!(days.iter().all(|d| d.starts_with("2017-10-")), "{days:?}");
}

#[test]
fn hkimport_counts_are_plausible_and_add_up() {
    let import = import_apple("hkimport_export.xml");
    let c = &import.counts;
    assert_eq!(c.records, 10_939, "the README's record count");
    assert_eq!(
        c.nested_in_correlations, 162,
        "Food correlation children are not records"
    );
    assert_eq!(c.other_elements["Correlation"], 34);
    assert_eq!(c.other_elements["Workout"], 61);
    assert!(c.is_consistent(), "{c:?}");
    assert_eq!(c.skipped, 0, "{:?}", import.skipped);
    assert_eq!(
        c.imported,
        import
            .devices
            .iter()
            .map(|d| d.samples.len())
            .sum::<usize>()
    );
    // 167 records repeat an earlier one exactly (creation date aside); 153 of them are of
    // mapped types and are dropped, the other 14 are nutrition records, ignored anyway.
    assert_eq!(c.duplicates, 153);
    assert_eq!(c.imported, 10_346);
    assert_eq!(
        c.ignored_types["HKQuantityTypeIdentifierDietaryProtein"],
        51
    );
    assert_eq!(
        c.ignored_types["HKQuantityTypeIdentifierDistanceCycling"],
        2
    );
    assert_eq!(c.not_asleep["HKCategoryValueSleepAnalysisInBed"], 12);
    assert_eq!(c.not_asleep["HKCategoryValueSleepAnalysisAwake"], 2);

    let iphone = device(&import, IPHONE).counts_by_type();
    assert_eq!(
        iphone,
        BTreeMap::from([
            ("DISTANCE", 3128),
            ("FLIGHTS_CLIMBED", 190),
            ("STEPS", 3770)
        ])
    );
    let garmin = device(&import, GARMIN).counts_by_type();
    assert_eq!(
        (garmin["HEART_RATE"], garmin["STEPS"], garmin["WEIGHT"]),
        (2177, 189, 1)
    );
    let mut per_type: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &import.devices {
        for (t, n) in d.counts_by_type() {
            *per_type.entry(t).or_insert(0) += n;
        }
    }
    assert_eq!(per_type.values().sum::<usize>(), c.imported);
    assert_eq!(per_type["HEART_RATE"], 2177);
    assert!(
        per_type["STEPS"] > 3900 && per_type["STEPS"] <= 3980,
        "{per_type:?}"
    );
    assert_eq!(per_type["BLOOD_GLUCOSE"], 35, "all glucose records, mg/dL");
    // Sleep: Asleep records only, as minutes; no night is longer than a day.
    assert_eq!(per_type["SLEEP_ANALYSIS"], 107);
    for (_, s) in import
        .samples()
        .filter(|(_, s)| s.sample_type == "SLEEP_ANALYSIS")
    {
        let minutes = (s.end_date - s.start_date).num_seconds() as f64 / 60.0;
        assert_eq!((s.unit, s.value), ("min", minutes));
    }
}

#[test]
fn distances_keep_km_and_mi() {
    let hk = import_apple("hkimport_export.xml");
    let km: Vec<_> = hk
        .samples()
        .filter(|(_, s)| s.sample_type == "DISTANCE")
        .collect();
    assert!(km.len() > 3000);
    assert!(
        km.iter().all(|(_, s)| s.unit == "km"),
        "every walking distance of this export is in km"
    );
    let od = import_apple("opendroid_sampleexport-2.xml");
    let mi: Vec<f64> = od
        .samples()
        .filter(|(_, s)| s.sample_type == "DISTANCE")
        .map(|(_, s)| assert_unit(s, "mi"))
        .collect();
    assert_eq!(mi, [0.00205053, 0.00233014]);
    let height: Vec<f64> = od
        .samples()
        .filter(|(_, s)| s.sample_type == "HEIGHT")
        .map(|(_, s)| assert_unit(s, "ft"))
        .collect();
    assert_eq!(height, [5.75]);
}

fn assert_unit(s: &healthpipe_importer::SyncSample, unit: &str) -> f64 {
    assert_eq!(s.unit, unit, "{s:?}");
    s.value
}

#[test]
fn user_entered_records_go_to_one_manual_device() {
    let import = import_apple("hkimport_export.xml");
    let manual = device(&import, MANUAL);
    assert_eq!(manual.device.device_type, DeviceType::ManualEntry);
    assert!(manual
        .samples
        .iter()
        .all(|s| s.metadata["HKWasUserEntered"] == "1"));
    let big = manual
        .samples
        .iter()
        .find(|s| s.sample_type == "STEPS" && s.value == 30_000.0);
    let big = big.expect("the 30,000-steps manual entry");
    assert_eq!(big.source_app.as_deref(), Some("Health"));
    let apps: BTreeSet<_> = manual
        .samples
        .iter()
        .filter_map(|s| s.source_app.as_deref())
        .collect();
    assert_eq!(apps, BTreeSet::from(["ACCU-CHEK", "Health", "One Drop"]));
    let typed_elsewhere = import.samples().filter(|(d, s)| {
        d.device_identifier != MANUAL
            && s.metadata.get("HKWasUserEntered").map(String::as_str) == Some("1")
    });
    assert_eq!(typed_elsewhere.count(), 0);
    assert_eq!(manual.samples.len(), 96);
}

#[test]
fn opendroid_malformed_record_is_reported_and_the_rest_imports() {
    let import = import_apple("opendroid_sampleexport-2.xml");
    assert_eq!(import.skipped.len(), 1, "{:?}", import.skipped);
    let bad = &import.skipped[0];
    assert_eq!(
        (bad.record_type.as_str(), bad.record, bad.line),
        ("c", 15, Some(217))
    );
    assert!(bad.reason.to_string().contains("\"c\""), "{}", bad.reason);
    let c = &import.counts;
    assert!(c.is_consistent(), "{c:?}");
    assert_eq!(
        (c.records, c.imported, c.skipped, c.ignored()),
        (37, 15, 1, 21)
    );
    // The record right after the bad one, same source and values, is well-formed.
    assert_eq!(
        c.ignored_types["HKQuantityTypeIdentifierEnvironmentalAudioExposure"],
        1
    );
}

#[test]
fn source_names_with_typographic_characters_survive() {
    let hk = import_apple("hkimport_export.xml");
    assert_eq!(
        device(&hk, IPHONE).device.device_name,
        "Jonathan\u{2019}s iPhone (iPhone8,1)"
    );
    let od = import_apple("opendroid_sampleexport-2.xml");
    let emoji = device(&od, "apple-health:🔜");
    assert_eq!(emoji.samples.len(), 2);
    assert!(emoji
        .samples
        .iter()
        .all(|s| s.source_app.as_deref() == Some("🔜")));
    let nbsp = import_apple("healthkit-to-sqlite_tests_export.xml");
    let watch = device(&nbsp, "apple-health:Apple\u{a0}Watch:Watch2,4");
    assert_eq!(watch.device.device_type, DeviceType::AppleWatch);
    assert_eq!(
        watch.samples[0].source_app.as_deref(),
        Some("Apple\u{a0}Watch")
    );
    let json = serde_json::to_string(&watch.samples[0]).unwrap();
    assert!(
        json.contains("Apple\u{a0}Watch"),
        "kept as UTF-8, not escaped away: {json}"
    );
    let straight = import_apple("alxdrcirilo_tests_export.xml");
    assert_eq!(
        device(&straight, "apple-health:Alexandre's Apple Watch:Watch6,7")
            .samples
            .len(),
        4
    );
}

/// `2017-10-23 08:15:00 +0200` → `2017-10-23T08:15:00+02:00`, by hand, independent of chrono.
fn expected_rfc3339(apple: &str) -> String {
    let (date, rest) = apple.split_once(' ').unwrap();
    let (time, offset) = rest.split_once(' ').unwrap();
    format!("{date}T{time}{}:{}", &offset[..3], &offset[3..])
}

#[test]
fn every_date_is_rfc3339_with_the_offset_of_the_file() {
    for name in APPLE_FILES {
        let mut checked = 0;
        for record in RecordReader::new(open(&format!("apple-health/{name}"))) {
            let record = record.unwrap();
            let (start, end) = (
                record.start_date.clone().unwrap(),
                record.end_date.clone().unwrap(),
            );
            if let Outcome::Sample { sample, .. } = convert_record(record) {
                let json = serde_json::to_value(&sample).unwrap();
                for (field, apple) in [("start_date", start), ("end_date", end)] {
                    let text = json[field].as_str().unwrap();
                    assert_eq!(text, expected_rfc3339(&apple), "{name} {field}");
                    DateTime::parse_from_rfc3339(text).unwrap();
                }
                checked += 1;
            }
        }
        assert!(checked > 0, "{name}");
    }
}

#[test]
fn body_fat_percent_is_sent_as_fraction() {
    let od = import_apple("opendroid_sampleexport-2.xml");
    let fat: Vec<_> = od
        .samples()
        .filter(|(_, s)| s.sample_type == "BODY_FAT")
        .map(|(_, s)| s)
        .collect();
    assert_eq!(fat.len(), 2);
    for s in fat {
        assert_eq!(s.unit, "fraction");
        assert!((0.0..=1.0).contains(&s.value), "{s:?}");
    }
    assert_eq!(
        device(&od, "apple-health:Renpho").device.device_type,
        DeviceType::ThirdPartyScale
    );
}

#[test]
fn every_emitted_sample_passes_the_domain_rules() {
    for name in APPLE_FILES {
        let import = import_apple(name);
        let now = exported_at(&import);
        let failures: Vec<String> = import
            .samples()
            .filter_map(|(d, s)| {
                domain_check(s, now)
                    .err()
                    .map(|e| format!("{}: {s:?}: {e}", d.device_name))
            })
            .collect();
        assert!(
            failures.is_empty(),
            "{name}: {} of {} fail:\n{}",
            failures.len(),
            import.counts.imported,
            failures.join("\n")
        );
    }
}

/// The gateway's `ClientSample`, with its `deny_unknown_fields`: our JSON must fit it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct GatewaySample {
    id: Option<String>,
    #[serde(rename = "type")]
    sample_type: String,
    value: f64,
    unit: String,
    start_date: DateTime<FixedOffset>,
    end_date: DateTime<FixedOffset>,
    source_app: Option<String>,
    #[serde(default)]
    metadata: HashMap<String, serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GatewayBody {
    samples: Vec<GatewaySample>,
}

#[test]
fn sync_bodies_deserialise_as_the_gateway_reads_them() {
    let import = import_apple("hkimport_export.xml");
    let mut total = 0;
    for d in &import.devices {
        let registration = serde_json::to_value(d.registration()).unwrap();
        assert_eq!(registration.as_object().unwrap().len(), 3, "{registration}");
        for body in d.sync_bodies(1000) {
            let parsed: GatewayBody =
                serde_json::from_str(&serde_json::to_string(&body).unwrap()).unwrap();
            assert!(parsed.samples.iter().all(|s| s.id.is_none()));
            total += parsed.samples.len();
        }
    }
    assert_eq!(total, import.counts.imported);
}

#[test]
fn streaming_gives_the_same_samples_as_the_whole_import() {
    let import = import_apple("hkimport_export.xml");
    let mut stream = AppleHealthSamples::new(open("apple-health/hkimport_export.xml"));
    let samples = stream
        .by_ref()
        .filter(|o| matches!(o, Ok(Outcome::Sample { .. })))
        .count();
    assert_eq!(samples, import.counts.imported + import.counts.duplicates);
    assert_eq!(stream.stats().records, import.counts.records);
}

#[test]
fn every_file_accounts_for_every_record() {
    for name in APPLE_FILES {
        let import = import_apple(name);
        assert!(import.counts.is_consistent(), "{name}: {:?}", import.counts);
        assert!(import.counts.imported > 0, "{name}");
        for d in &import.devices {
            assert!(
                !d.samples.is_empty() && d.device.device_identifier.starts_with("apple-health:")
            );
        }
    }
}
