//! Runs every golden case of the shared dedup-cases folder through `aggregate_user` and
//! compares by the README's rules. All mismatches of all cases are reported at once.
//!
//! The folder is `$HEALTHPIPE_DEDUP_CASES` if set, else `../../shared/dedup-cases` from this
//! crate. A missing or empty folder fails the test: a silently skipped golden test is worse
//! than none.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::PathBuf;

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use chrono_tz::Tz;
use healthpipe_domain::{
    aggregate_user, AggregateRow, DevicePriority, DeviceRanking, Period, Sample, SampleType,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    timezone: String,
    devices: Vec<Device>,
    samples: Vec<CaseSample>,
    #[serde(default)]
    deleted_sample_ids: Vec<String>,
    expected: Vec<ExpectedRow>,
}

#[derive(Deserialize)]
struct Device {
    id: String,
    priority: i64,
    #[serde(default)]
    type_priorities: HashMap<SampleType, i64>,
}

#[derive(Deserialize)]
struct CaseSample {
    id: String,
    device_id: String,
    #[serde(rename = "type")]
    sample_type: SampleType,
    value: f64,
    start_date: DateTime<FixedOffset>,
    end_date: DateTime<FixedOffset>,
}

#[derive(Deserialize)]
struct ExpectedRow {
    #[serde(rename = "type")]
    sample_type: SampleType,
    period: Period,
    period_start: DateTime<FixedOffset>,
    value: f64,
    min_value: f64,
    max_value: f64,
    sample_count: u32,
}

type Key = (SampleType, Period, String);

fn cases_dir() -> PathBuf {
    match std::env::var_os("HEALTHPIPE_DEDUP_CASES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/dedup-cases"),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the README's normal form of `period_start`.
fn normalise(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn close(a: f64, b: f64) -> bool {
    let diff = (a - b).abs();
    diff <= 1e-9 || diff <= 1e-9 * a.abs().max(b.abs())
}

/// Mismatches between `actual` and `expected`, one line each.
fn compare(actual: &[AggregateRow], expected: &[ExpectedRow]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut by_key: HashMap<Key, &AggregateRow> = HashMap::new();
    for row in actual {
        let key = (row.sample_type, row.period, normalise(row.period_start));
        if by_key.insert(key.clone(), row).is_some() {
            problems.push(format!("duplicate row {key:?}"));
        }
    }
    for e in expected {
        let key = (e.sample_type, e.period, normalise(e.period_start.to_utc()));
        let Some(row) = by_key.remove(&key) else {
            problems.push(format!("missing row {key:?}"));
            continue;
        };
        let fields = [
            ("value", row.value, e.value),
            ("min_value", row.min_value, e.min_value),
            ("max_value", row.max_value, e.max_value),
        ];
        for (name, got, want) in fields {
            if !close(got, want) {
                problems.push(format!("{key:?}: {name} is {got}, expected {want}"));
            }
        }
        if row.sample_count != e.sample_count {
            problems.push(format!(
                "{key:?}: sample_count is {}, expected {}",
                row.sample_count, e.sample_count
            ));
        }
    }
    let mut extra: Vec<&Key> = by_key.keys().collect();
    extra.sort();
    problems.extend(
        extra
            .into_iter()
            .map(|key| format!("unexpected row {key:?}")),
    );
    problems
}

fn run_case(text: &str) -> Result<Vec<String>, String> {
    let case: Case = serde_json::from_str(text).map_err(|e| format!("cannot parse: {e}"))?;
    let tz: Tz = case
        .timezone
        .parse()
        .map_err(|e| format!("bad timezone: {e}"))?;
    let ranking: DeviceRanking = case
        .devices
        .into_iter()
        .map(|d| {
            (
                d.id,
                DevicePriority {
                    priority: d.priority,
                    type_priorities: d.type_priorities,
                },
            )
        })
        .collect();
    let samples: Vec<Sample> = case
        .samples
        .into_iter()
        .map(|s| Sample {
            id: s.id,
            device_id: s.device_id,
            sample_type: s.sample_type,
            value: s.value,
            start: s.start_date.to_utc(),
            end: s.end_date.to_utc(),
        })
        .collect();
    let deleted: HashSet<String> = case.deleted_sample_ids.into_iter().collect();
    Ok(compare(
        &aggregate_user(&samples, &deleted, &ranking, tz),
        &case.expected,
    ))
}

#[test]
fn every_golden_case_matches() {
    let dir = cases_dir();
    let entries = fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "dedup cases folder {} cannot be read ({e}); set HEALTHPIPE_DEDUP_CASES",
            dir.display()
        )
    });
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable folder entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no *.json case files in {}",
        dir.display()
    );

    let mut report = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let problems = fs::read_to_string(file)
            .map_err(|e| format!("cannot read: {e}"))
            .and_then(|text| run_case(&text));
        match problems {
            Ok(problems) => report.extend(problems.into_iter().map(|p| format!("{name}: {p}"))),
            Err(e) => report.push(format!("{name}: {e}")),
        }
    }
    assert!(
        report.is_empty(),
        "{} mismatches in {} case files:\n{}",
        report.len(),
        files.len(),
        report.join("\n")
    );
    eprintln!("{} golden cases passed", files.len());
}
