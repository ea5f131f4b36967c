//! Importing exports through the real stack: `healthpipe import` and
//! `POST /api/v1/imports/{source}` take every real Apple Health export of
//! `../shared/real-data/apple-health/` and the shimmer responses, each record accounted for
//! once, units converted, devices registered per source; a second import adds nothing; an
//! interrupted import is marked failed and runs again; bad files fail with nothing imported;
//! a large zipped export is imported in flat memory.
//!
//! The real exports reach back to 2014, so every service here keeps 20 years of samples
//! (`RETENTION_SAMPLE_YEARS`); the default seven years refuse them, which a test checks too.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::exports::generated_export;
use common::query::db;
use common::services::{run_command, shared_env, Service};
use common::{repo_root, Pipeline, Session};
use healthpipe_domain::{to_canonical, validate, AggregationKind, RawSample, SampleType};
use serde_json::Value;

/// Years of samples every service of these tests keeps: the real exports start in 2014.
const YEARS: u32 = 20;

fn keep_the_real_exports() {
    healthpipe_domain::retention::keep_samples_for_years(YEARS);
}

async fn pipeline() -> Pipeline {
    keep_the_real_exports();
    let pipeline = Pipeline::start().await;
    pipeline.start_processor();
    pipeline
}

fn real_exports() -> Vec<PathBuf> {
    let dir = repo_root().join("../shared/real-data/apple-health");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 5, "the five real exports");
    files
}

/// `healthpipe import <source> <file> --user <email> --json` with the pipeline's settings.
fn import_with_cli(pipeline: &Pipeline, user: &Session, source: &str, file: &Path) -> Value {
    let group = pipeline.processor_config().group_id;
    let years = YEARS.to_string();
    let file = file.to_str().unwrap();
    let args = [
        "import",
        source,
        file,
        "--user",
        &user.email,
        "--json",
        "--quiet",
    ];
    let extra = [
        ("PROJECTION_GROUP", group.as_str()),
        ("RETENTION_SAMPLE_YEARS", years.as_str()),
    ];
    let stdout = run_command(pipeline, &args, &extra);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("report JSON ({e}): {stdout}"))
}

/// Uploads `body`, then follows the import to its end; the import as the API shows it.
async fn import_with_api(user: &Session, source: &str, body: Vec<u8>) -> Value {
    let started = start_upload(user, source, body).await;
    follow(user, started["id"].as_str().unwrap()).await
}

async fn start_upload(user: &Session, source: &str, body: Vec<u8>) -> Value {
    let response = upload(user, source, body).await;
    assert_eq!(
        response.status(),
        202,
        "upload answered {:?}",
        response.text().await
    );
    let started: Value = response.json().await.unwrap();
    assert_eq!(started["status"], "running");
    started
}

async fn upload(user: &Session, source: &str, body: Vec<u8>) -> reqwest::Response {
    user.http
        .post(format!("{}/api/v1/imports/{source}", user.base_url))
        .bearer_auth(&user.token)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Polls `GET /api/v1/imports/{id}` until the import is no longer running (at most 3 min).
async fn follow(user: &Session, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let response = user.get(&format!("/api/v1/imports/{id}")).await;
        assert_eq!(response.status(), 200);
        let import: Value = response.json().await.unwrap();
        if import["status"] != "running" {
            return import;
        }
        assert!(
            Instant::now() < deadline,
            "import {id} still running: {import}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn zipped(name: &str, content: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("apple_health_export/export_cda.xml", options)
        .unwrap();
    zip.write_all(b"<ClinicalDocument/>").unwrap();
    zip.start_file(name, options).unwrap();
    zip.write_all(content).unwrap();
    zip.finish().unwrap().into_inner()
}

fn counts(map: &Value) -> BTreeMap<String, u64> {
    map.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect()
}

fn sum(map: &Value) -> u64 {
    counts(map).values().sum()
}

/// Every record of the file in exactly one of the report's counts.
fn assert_accounted(report: &Value) {
    let n = |k: &str| report[k].as_u64().unwrap();
    assert_eq!(
        n("records"),
        n("imported")
            + n("duplicates")
            + sum(&report["rejected"])
            + sum(&report["unmapped_types"])
            + sum(&report["not_imported"]),
        "{report:#}"
    );
}

/// What the importer alone makes of a file, and what a sync's validation would keep of it:
/// the reference the reports are checked against.
struct Expected {
    records: u64,
    /// Samples the parser made (before the gateway's validation), duplicates included.
    samples: u64,
    skipped: u64,
    unmapped: BTreeMap<String, u64>,
    /// Samples the validation refuses, by code.
    invalid: BTreeMap<String, u64>,
    /// Per cumulative type, the canonical values of distinct valid samples summed.
    sums: BTreeMap<&'static str, f64>,
}

fn expected(file: &Path) -> Expected {
    let reader = std::io::BufReader::new(std::fs::File::open(file).unwrap());
    let import = healthpipe_importer::import_apple_health(reader).unwrap();
    let now = Utc::now();
    let mut invalid = BTreeMap::new();
    let mut sums = BTreeMap::new();
    for (_, s) in import.samples() {
        let raw = RawSample {
            sample_type: s.sample_type,
            value: s.value,
            unit: s.unit,
            start: s.start_date,
            end: s.end_date,
        };
        match validate(&raw, now) {
            Err(e) => *invalid.entry(e.code().to_string()).or_insert(0) += 1,
            Ok(_) => {
                let t: SampleType = s.sample_type.parse().unwrap();
                if t.kind() == AggregationKind::Cumulative {
                    *sums.entry(s.sample_type).or_insert(0.0) +=
                        to_canonical(t, s.value, s.unit).unwrap();
                }
            }
        }
    }
    let c = &import.counts;
    Expected {
        records: c.records as u64,
        samples: (c.imported + c.duplicates) as u64,
        skipped: c.skipped as u64,
        unmapped: c
            .ignored_types
            .iter()
            .map(|(k, v)| (k.clone(), *v as u64))
            .collect(),
        invalid,
        sums,
    }
}

async fn stored_samples(pipeline: &Pipeline, user: &Session) -> i64 {
    let client = db(pipeline).await;
    let id: uuid::Uuid = user.user_id.parse().unwrap();
    client
        .query_one("SELECT count(*) FROM samples WHERE user_id = $1", &[&id])
        .await
        .unwrap()
        .get(0)
}

/// The distinct UTC offsets of the user's stored samples.
async fn utc_offsets(pipeline: &Pipeline, user: &Session) -> Vec<i32> {
    let client = db(pipeline).await;
    let id: uuid::Uuid = user.user_id.parse().unwrap();
    client
        .query(
            "SELECT DISTINCT utc_offset_seconds FROM samples WHERE user_id = $1 ORDER BY 1",
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The user's aggregates, every row, as text: equal before and after means unchanged.
async fn aggregates_of(pipeline: &Pipeline, user: &Session) -> String {
    let client = db(pipeline).await;
    let id: uuid::Uuid = user.user_id.parse().unwrap();
    let rows = client
        .query(
            "SELECT sample_type, period, period_start::text, value, sample_count FROM aggregates \
             WHERE user_id = $1 ORDER BY 1, 2, 3",
            &[&id],
        )
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            let (t, p, s, v, n): (String, String, String, f64, i32) =
                (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
            format!("{t} {p} {s} {v} {n}\n")
        })
        .collect()
}

/// Checks one report against the importer's own reading of the file and the database.
async fn check_report(pipeline: &Pipeline, user: &Session, file: &Path, report: &Value) {
    let name = file.file_name().unwrap().to_string_lossy();
    let want = expected(file);
    assert_accounted(report);
    assert_eq!(report["processed"], true, "{name}");
    assert_eq!(report["records"].as_u64().unwrap(), want.records, "{name}");
    let rejected = counts(&report["rejected"]);
    let validation: u64 = want.invalid.values().sum();
    assert_eq!(
        rejected.values().sum::<u64>(),
        want.skipped + validation,
        "{name}: parser skips and validation refusals, {rejected:?}"
    );
    for (code, n) in &want.invalid {
        assert_eq!(rejected.get(code), Some(n), "{name}: {code}");
    }
    assert_eq!(counts(&report["unmapped_types"]), want.unmapped, "{name}");
    let imported = report["imported"].as_u64().unwrap();
    let duplicates = report["duplicates"].as_u64().unwrap();
    assert_eq!(imported + duplicates + validation, want.samples, "{name}");
    assert_eq!(
        stored_samples(pipeline, user).await,
        imported as i64,
        "{name}: the samples imported are the samples stored"
    );
    // Units: the stored values of each cumulative type, summed, are the file's values in
    // the type's canonical unit (hkimport mixes km and mi for distance).
    for t in report["types"].as_array().unwrap() {
        let sample_type = t["type"].as_str().unwrap();
        let parsed: SampleType = sample_type.parse().unwrap();
        assert_eq!(t["unit"], parsed.canonical_unit().symbol(), "{name}");
        if let Some(naive) = t["naive_sum"].as_f64() {
            let want_sum = want.sums[sample_type];
            assert!(
                (naive - want_sum).abs() <= 1e-6 * want_sum.abs().max(1.0),
                "{name} {sample_type}: stored {naive}, file {want_sum}"
            );
            let dedup = t["deduplicated_total"].as_f64().unwrap();
            assert!(
                dedup <= naive + 1e-6,
                "{name} {sample_type}: {dedup} > {naive}"
            );
        }
    }
    let devices = report["devices"].as_array().unwrap();
    let priorities: Vec<i64> = devices
        .iter()
        .map(|d| d["priority"].as_i64().unwrap())
        .collect();
    assert!(
        priorities.windows(2).all(|w| w[0] >= w[1]),
        "{name}: best priority first, {priorities:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_real_export_imports_through_the_cli_and_the_api_and_again_adds_nothing() {
    let pipeline = pipeline().await;
    for file in real_exports() {
        let by_cli = pipeline.new_user("Europe/Berlin").await;
        let cli = import_with_cli(&pipeline, &by_cli, "apple-health", &file);
        check_report(&pipeline, &by_cli, &file, &cli).await;
        assert!(
            cli["devices"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["created"] == true),
            "a first import registers its devices"
        );

        // The same file zipped, as the Health app shares it, through the API.
        let by_api = pipeline.new_user("Europe/Berlin").await;
        let xml = std::fs::read(&file).unwrap();
        let api = import_with_api(
            &by_api,
            "apple-health",
            zipped("apple_health_export/export.xml", &xml),
        )
        .await;
        assert_eq!(api["status"], "completed", "{api:#}");
        assert_eq!(api["source"], "apple-health");
        assert_eq!(api["origin"], "api");
        let progress = &api["progress"];
        assert_eq!(
            progress["bytes_total"], progress["bytes_read"],
            "read to the end"
        );
        check_report(&pipeline, &by_api, &file, &api["report"]).await;
        for key in [
            "records",
            "imported",
            "duplicates",
            "rejected",
            "unmapped_types",
            "types",
        ] {
            assert_eq!(
                cli[key], api["report"][key],
                "{key}: the CLI and the API agree"
            );
        }

        // Again: nothing new, every sample a duplicate, the aggregates unchanged.
        let before = aggregates_of(&pipeline, &by_cli).await;
        let again = import_with_cli(&pipeline, &by_cli, "apple-health", &file);
        assert_accounted(&again);
        assert_eq!(again["imported"], 0, "{again:#}");
        assert_eq!(
            again["duplicates"].as_u64().unwrap(),
            cli["imported"].as_u64().unwrap() + cli["duplicates"].as_u64().unwrap()
        );
        assert!(again["devices"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["created"] == false));
        pipeline.settle_aggregation().await;
        assert_eq!(aggregates_of(&pipeline, &by_cli).await, before);
        let listed: Value = by_cli.get("/api/v1/imports").await.json().await.unwrap();
        assert_eq!(listed.as_array().unwrap().len(), 2, "both imports listed");
        assert_eq!(listed[0]["origin"], "cli");
    }
}

/// hkimport's iPhone and Garmin count steps in the same 15 minutes on eight days of October
/// 2017: the iPhone ranks above the third-party wearable, so those steps count once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hkimport_counts_overlapping_garmin_and_iphone_steps_once() {
    let pipeline = pipeline().await;
    let user = pipeline.new_user("Europe/Berlin").await;
    let file = repo_root().join("../shared/real-data/apple-health/hkimport_export.xml");
    let import = import_with_api(&user, "apple-health", std::fs::read(&file).unwrap()).await;
    let report = &import["report"];
    let devices = report["devices"].as_array().unwrap();
    let named = |name: &str| {
        devices
            .iter()
            .find(|d| d["name"].as_str().unwrap().starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {devices:?}"))
    };
    // Garmin's app writes as "Connect".
    let (iphone, garmin) = (named("Jonathan’s iPhone"), named("Connect"));
    assert_eq!(
        (
            iphone["device_type"].as_str(),
            garmin["device_type"].as_str()
        ),
        (Some("iphone"), Some("third_party_wearable"))
    );
    assert!(iphone["priority"].as_i64() > garmin["priority"].as_i64());
    let steps = report["types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "STEPS")
        .unwrap();
    let (naive, dedup) = (
        steps["naive_sum"].as_f64().unwrap(),
        steps["deduplicated_total"].as_f64().unwrap(),
    );
    assert!(
        dedup < naive,
        "overlapping steps counted once: {dedup} < {naive}"
    );

    // One overlap day, explained: the iPhone's steps kept, the Garmin's in the overlap not.
    let mut garmin_left_out = 0;
    for day in 1..=31 {
        let midnight = chrono::NaiveDate::from_ymd_opt(2017, 10, day)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_local_timezone(chrono_tz::Europe::Berlin)
            .unwrap()
            .to_rfc3339()
            .replace('+', "%2B");
        let response = user
            .get(&format!(
                "/api/v1/aggregates/explain?type=STEPS&period=day&period_start={midnight}"
            ))
            .await;
        assert_eq!(response.status(), 200, "2017-10-{day:02}");
        let explained: Value = response.json().await.unwrap();
        let samples = explained["samples"].as_array().cloned().unwrap_or_default();
        let of = |d: &Value| {
            samples
                .iter()
                .filter(|s| s["device_id"] == d["id"])
                .cloned()
                .collect::<Vec<_>>()
        };
        let (phone, watch) = (of(iphone), of(garmin));
        if phone.is_empty() || watch.is_empty() {
            continue;
        }
        assert!(
            phone.iter().all(|s| s["status"] == "kept"),
            "2017-10-{day:02}"
        );
        garmin_left_out += watch.iter().filter(|s| s["status"] != "kept").count();
    }
    assert!(
        garmin_left_out > 0,
        "some Garmin steps left out where the iPhone counted"
    );
}

/// The shimmer shapes reach the same job through their connectors.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn third_party_responses_import_through_their_connectors() {
    let pipeline = pipeline().await;
    let dir = repo_root().join("../shared/real-data/openmhealth-shimmer");
    for (source, file) in [
        ("fitbit", "fitbit-activities-steps-1d-1m-intraday.json"),
        ("google-fit", "googlefit-merge-step-deltas.json"),
        ("withings", "withings-intraday-activity.json"),
        ("ihealth", "ihealth-spo2.json"),
    ] {
        let user = pipeline.new_user("Europe/Berlin").await;
        let by_cli = import_with_cli(&pipeline, &user, source, &dir.join(file));
        assert_accounted(&by_cli);
        assert!(
            by_cli["imported"].as_u64().unwrap() > 0,
            "{source}: {by_cli:#}"
        );
        assert_eq!(
            stored_samples(&pipeline, &user).await,
            by_cli["imported"].as_i64().unwrap()
        );
        if source == "fitbit" {
            // Fitbit writes wall-clock times without an offset: they are the account's zone's,
            // whether or not the processors have seen the new account yet.
            assert_eq!(
                utc_offsets(&pipeline, &user).await,
                vec![7200],
                "CEST in August"
            );
        }
        let other = pipeline.new_user("Europe/Berlin").await;
        let by_api = import_with_api(&other, source, std::fs::read(dir.join(file)).unwrap()).await;
        assert_eq!(by_api["report"]["imported"], by_cli["imported"], "{source}");
    }
}

/// At the default seven years, the old exports' records are refused by reason, not lost
/// silently, and nothing of them is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn at_the_default_retention_old_records_are_rejected_by_reason() {
    let pipeline = pipeline().await;
    let user = pipeline.new_user("UTC").await;
    let file = repo_root().join("../shared/real-data/apple-health/tdda_export6s3sample.xml");
    let group = pipeline.processor_config().group_id;
    let stdout = run_command(
        &pipeline,
        &[
            "import",
            "apple-health",
            file.to_str().unwrap(),
            "--user",
            &user.email,
            "--json",
            "--quiet",
        ],
        &[("PROJECTION_GROUP", group.as_str())],
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_accounted(&report);
    assert_eq!(report["imported"], 0);
    let want = expected(&file);
    assert_eq!(
        report["rejected"]["beyond_retention"].as_u64().unwrap(),
        want.samples - want.invalid.values().sum::<u64>(),
        "{report:#}"
    );
    assert!(report["rejected_examples"][0]
        .as_str()
        .unwrap()
        .contains("7 years"));
}

/// The zipped generated export written to a file; its path and the XML's size.
fn generated_zip(dir: &Path, records: usize) -> (PathBuf, u64) {
    let path = dir.join("export.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    zip.start_file("apple_health_export/export.xml", options)
        .unwrap();
    let mut counted = Counting {
        inner: &mut zip,
        bytes: 0,
    };
    generated_export(records, &mut counted);
    let xml_bytes = counted.bytes;
    zip.finish().unwrap();
    (path, xml_bytes)
}

struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The most the import command may hold, whatever the export's size.
const MAX_RESIDENT_MIB: u64 = 128;

/// A zipped export of hundreds of megabytes goes through in flat memory: the command's peak
/// resident memory stays far below the file's size.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_large_zipped_export_imports_in_flat_memory() {
    let pipeline = pipeline().await;
    let user = pipeline.new_user("UTC").await;
    let dir = tempfile::tempdir().unwrap();
    let records = 400_000;
    let (zip, xml_bytes) = generated_zip(dir.path(), records);
    assert!(
        xml_bytes > 190 << 20,
        "a couple of hundred MB of XML: {xml_bytes}"
    );

    let mut env = shared_env(&pipeline, 30);
    env.push((
        "PROJECTION_GROUP".into(),
        pipeline.processor_config().group_id,
    ));
    let mut child = Command::new(common::services::binary())
        .args([
            "import",
            "apple-health",
            zip.to_str().unwrap(),
            "--user",
            &user.email,
            "--json",
            "--quiet",
        ])
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut peak_kib = 0;
    while child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "the import did not finish within 4 min"
        );
        if let Some(hwm) = peak_resident_kib(pid) {
            peak_kib = peak_kib.max(hwm);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_accounted(&report);
    assert_eq!(report["records"], records);
    assert_eq!(report["imported"], records);
    println!(
        "imported {records} records ({} MB of XML, {} MB zipped) with a peak of {} MiB resident",
        xml_bytes >> 20,
        std::fs::metadata(&zip).unwrap().len() >> 20,
        peak_kib >> 10
    );
    assert!(peak_kib > 0, "the peak was read");
    assert!(
        peak_kib >> 10 < MAX_RESIDENT_MIB,
        "peak resident memory {} MiB for a {} MB export",
        peak_kib >> 10,
        xml_bytes >> 20
    );
}

/// The process's peak resident set (`VmHWM`), in KiB.
fn peak_resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A gateway killed mid-import: the import is marked failed with a message saying to run
/// it again, and the same file then imports completely, nothing counted twice. While one
/// import runs, a second is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_interrupted_import_is_marked_failed_and_runs_again() {
    let pipeline = pipeline().await;
    let logs = tempfile::tempdir().unwrap();
    let group = pipeline.processor_config().group_id;
    let extra = [
        ("IMPORT_STALE_SECS", "2"),
        ("PROJECTION_GROUP", group.as_str()),
    ];
    let mut gateway = Service::gateway_with(&pipeline, logs.path(), 30, &extra);
    gateway.wait_healthy(&pipeline.http).await;
    let user = Session {
        base_url: gateway.url.clone(),
        ..pipeline.new_user("UTC").await
    };
    let records = 150_000;
    let mut xml = Vec::new();
    generated_export(records, &mut xml);

    let first = start_upload(&user, "apple-health", xml.clone()).await;
    let id = first["id"].as_str().unwrap().to_string();
    let second = upload(&user, "apple-health", b"<HealthData/>".to_vec()).await;
    assert_eq!(second.status(), 409, "one import at a time");
    // Killed once some samples are in the log.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now: Value = user
            .get(&format!("/api/v1/imports/{id}"))
            .await
            .json()
            .await
            .unwrap();
        if now["phase"] == "reading" && now["progress"]["records"].as_u64() > Some(20_000) {
            break;
        }
        assert_eq!(now["status"], "running", "{now}");
        assert!(
            Instant::now() < deadline,
            "the import did not get going: {now}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    gateway.kill();
    gateway.start();
    gateway.wait_healthy(&pipeline.http).await;
    let failed = follow(&user, &id).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("import the same file again"),
        "{failed}"
    );

    let again = import_with_api(&user, "apple-health", xml).await;
    assert_eq!(again["status"], "completed", "{again}");
    let report = &again["report"];
    assert_accounted(report);
    assert_eq!(
        report["imported"].as_u64().unwrap() + report["duplicates"].as_u64().unwrap(),
        records as u64
    );
    assert!(
        report["duplicates"].as_u64().unwrap() > 0,
        "the first run's samples were there"
    );
    assert_eq!(stored_samples(&pipeline, &user).await, records as i64);
}

/// Files that cannot be imported fail with a message and leave nothing behind: no samples,
/// no devices. Requests that cannot start an import are refused with the right status.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_files_fail_cleanly_and_bad_requests_are_refused() {
    let pipeline = pipeline().await;
    let user = pipeline.new_user("UTC").await;
    let hkimport =
        std::fs::read(repo_root().join("../shared/real-data/apple-health/hkimport_export.xml"))
            .unwrap();
    // Cut at the end of a line, as a copy that stopped short leaves it.
    let half = hkimport[..hkimport.len() / 2]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap();
    let truncated = hkimport[..=half].to_vec();
    for (what, body, says) in [
        ("truncated", truncated.clone(), "truncated"),
        (
            "a zip without an export",
            zipped("notes.txt", b"hello"),
            "holds no export",
        ),
        (
            "not XML",
            b"{\"steps\": 5}".to_vec(),
            "Nothing was imported",
        ),
    ] {
        let import = import_with_api(&user, "apple-health", body).await;
        assert_eq!(import["status"], "failed", "{what}: {import}");
        let error = import["error"].as_str().unwrap();
        assert!(error.contains(says), "{what}: {error}");
        assert!(import["report"].is_null());
    }
    assert_eq!(stored_samples(&pipeline, &user).await, 0);
    let devices: Value = user.get("/api/v1/devices").await.json().await.unwrap();
    assert_eq!(devices, serde_json::json!([]), "no device registered");

    let unknown = upload(&user, "strava", b"{}".to_vec()).await;
    assert_eq!(unknown.status(), 404);
    assert!(unknown.text().await.unwrap().contains("apple-health"));
    let empty = upload(&user, "apple-health", Vec::new()).await;
    assert_eq!(empty.status(), 422);

    let small = pipeline
        .start_gateway_with(healthpipe_gateway::GatewayConfig {
            imports: healthpipe_gateway::ImportSettings {
                max_bytes: 1000,
                ..Default::default()
            },
            ..pipeline.gateway_config()
        })
        .await;
    let too_large = Session {
        base_url: small,
        ..user.clone()
    };
    let refused = upload(&too_large, "apple-health", hkimport).await;
    assert_eq!(refused.status(), 413);
    assert!(refused.text().await.unwrap().contains("IMPORT_MAX_BYTES"));

    // Another user's import is as unknown as one that does not exist.
    let listed: Value = user.get("/api/v1/imports").await.json().await.unwrap();
    let id = listed[0]["id"].as_str().unwrap();
    let other = pipeline.new_user("UTC").await;
    assert_eq!(
        other.get(&format!("/api/v1/imports/{id}")).await.status(),
        404
    );
}
