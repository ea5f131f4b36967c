//! The Bundles this crate writes, checked by an outside FHIR implementation: Python's
//! `fhir.resources` R4B models plus the core rules they leave out (tests/clients/fhir_validate.py,
//! pinned in tests/clients/requirements.txt, installed by tests/clients/install).
//!
//! Every sample type is written as raw samples (an instant and a range) and as aggregate
//! buckets of every period, blood pressure also as panels of both kinds, through the streaming
//! writer. Broken Bundles must be refused, which shows the validator validates.
//!
//! A missing interpreter fails the test: it never skips.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use healthpipe_domain::{
    bucket_start, next_bucket_start, AggregateRow, AggregationKind, Period, Sample, SampleType,
    UserId, TYPES,
};
use healthpipe_fhir::{pair_all, patient, Bucket, BundleType, BundleWriter, Resource};
use serde_json::Value;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the fhir crate lives in the workspace root")
        .to_path_buf()
}

/// `$HEALTHPIPE_PYTHON` (scripts/test exports it), else the venv tests/clients/install makes.
fn python() -> PathBuf {
    let python = std::env::var_os("HEALTHPIPE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".stack/tools/venv/bin/python"));
    assert!(
        python.exists(),
        "{} is missing: run `bash tests/clients/install` (scripts/test does) to get the \
         pinned fhir.resources validator",
        python.display()
    );
    python
}

/// Runs the validator on `bundle`.
fn validate(bundle: &[u8]) -> Output {
    let mut child = Command::new(python())
        .arg(workspace_root().join("tests/clients/fhir_validate.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the validator starts");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(bundle)
        .expect("the validator reads the Bundle");
    child.wait_with_output().expect("the validator finishes")
}

fn assert_valid(what: &str, bundle: &[u8]) -> String {
    let output = validate(bundle);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what}: the validator refused the Bundle:\n{}{stdout}\nBundle: {}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(bundle)
    );
    stdout
}

fn user() -> UserId {
    UserId::parse("0b9e8b7a-1c2d-4e5f-8a9b-0c1d2e3f4a5b").unwrap()
}

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 29, h, m, 0).unwrap()
}

/// A plausible value of `sample_type`: the middle of its accepted range.
fn value_of(sample_type: SampleType) -> f64 {
    let spec = sample_type.spec();
    (spec.min + spec.max) / 2.0
}

fn sample(id: &str, sample_type: SampleType, start: DateTime<Utc>, end: DateTime<Utc>) -> Sample {
    Sample {
        id: id.into(),
        device_id: "watch".into(),
        sample_type,
        value: value_of(sample_type),
        start,
        end,
    }
}

/// Raw samples: every type at an instant and over ten minutes (the systolic and diastolic ones
/// at the same times, so two panels), then a lone systolic and a lone diastolic reading.
fn samples() -> Vec<Sample> {
    let mut out = Vec::new();
    for spec in &TYPES {
        let t = spec.sample_type;
        // Diastolic readings share the systolic ones' times: they pair into panels.
        let slot = match t {
            SampleType::BloodPressureDiastolic => SampleType::BloodPressureSystolic,
            other => other,
        };
        let start = at(1, 0) + TimeDelta::minutes(20 * slot as i64);
        out.push(sample(&format!("instant-{t}"), t, start, start));
        out.push(sample(
            &format!("range-{t}"),
            t,
            start,
            start + TimeDelta::minutes(10),
        ));
    }
    out.push(sample(
        "lone-s",
        SampleType::BloodPressureSystolic,
        at(20, 0),
        at(20, 0),
    ));
    out.push(sample(
        "lone-d",
        SampleType::BloodPressureDiastolic,
        at(21, 0),
        at(21, 0),
    ));
    out
}

/// Buckets of every type and period (the ends from the domain's own bucketing, in a zone
/// whose DST starts that day), with and without coverage.
fn buckets() -> Vec<Bucket> {
    let tz = "Europe/Berlin".parse().unwrap();
    let mut out = Vec::new();
    for spec in &TYPES {
        for period in Period::ALL {
            let start = bucket_start(period, at(12, 0), tz);
            let value = value_of(spec.sample_type);
            let row = AggregateRow {
                sample_type: spec.sample_type,
                period,
                period_start: start,
                value,
                min_value: spec.min,
                max_value: spec.max,
                sample_count: 12,
                coverage: (spec.kind == AggregationKind::Cumulative).then_some(0.25),
                device_count: 2,
            };
            out.push(Bucket::new(row, next_bucket_start(period, start, tz)).unwrap());
        }
    }
    out
}

/// The Patient and the Observations of `samples` and `buckets`, written by the streaming
/// writer; also returns how many panels there are.
fn write_bundle(bundle_type: BundleType) -> (Vec<u8>, usize) {
    let mut writer = BundleWriter::start(Vec::new(), bundle_type, at(23, 0)).unwrap();
    writer.write(&patient(user()).into()).unwrap();
    let mut panels = 0;
    let mut write = |observation: healthpipe_fhir::Observation| {
        panels += usize::from(observation.code.coding[0].code == "85354-9");
        writer.write(&Resource::from(observation)).unwrap();
    };
    for group in pair_all(samples()) {
        write(group.observation(user()).unwrap());
    }
    for group in pair_all(buckets()) {
        write(group.observation(user()).unwrap());
    }
    (writer.finish().unwrap(), panels)
}

#[test]
fn every_type_as_samples_and_buckets_is_valid_fhir() {
    for bundle_type in [BundleType::Collection, BundleType::Searchset] {
        let (bundle, panels) = write_bundle(bundle_type);
        // Two sample panels (instant and range) and one per period.
        assert_eq!(panels, 2 + Period::ALL.len());
        // Each panel stands for two readings.
        let samples = 2 * TYPES.len() + 2;
        let buckets = Period::ALL.len() * TYPES.len();
        let observations = samples + buckets - panels;
        let summary = assert_valid(bundle_type.as_str(), &bundle);
        assert!(
            summary.contains(&format!("Observation {observations}, Patient 1")),
            "{summary}"
        );
    }
}

#[test]
fn broken_bundles_are_refused() {
    let (bundle, _) = write_bundle(BundleType::Collection);
    let valid: Value = serde_json::from_slice(&bundle).unwrap();
    type Breakage = fn(&mut Value);
    let breakages: [(&str, Breakage, &str); 4] = [
        (
            "an Observation without status",
            |b| {
                drop(
                    b["entry"][1]["resource"]
                        .as_object_mut()
                        .unwrap()
                        .remove("status"),
                )
            },
            "status",
        ),
        (
            "a status outside the value set",
            |b| b["entry"][1]["resource"]["status"] = "done".into(),
            "observation-status",
        ),
        (
            "a misspelt element",
            |b| {
                let resource = b["entry"][1]["resource"].as_object_mut().unwrap();
                let quantity = resource.remove("valueQuantity").unwrap();
                resource.insert("valueQuanity".into(), quantity);
            },
            "valueQuanity",
        ),
        (
            "an empty array",
            |b| b["entry"][1]["resource"]["category"] = Value::Array(Vec::new()),
            "empty",
        ),
    ];
    for (what, breakage, expected) in breakages {
        let mut broken = valid.clone();
        breakage(&mut broken);
        let output = validate(&serde_json::to_vec(&broken).unwrap());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{what} was accepted");
        assert!(stderr.contains(expected), "{what}: {stderr}");
    }
}
