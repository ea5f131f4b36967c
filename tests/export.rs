//! `GET /api/v1/me/export` on the real stack: the zip holds every record the user has and
//! nothing of anyone else, its FHIR Bundle validates with `fhir.resources` (R4B), and a long
//! history streams through the gateway (a child process) without its memory growing with it.
//!
//! A missing Python validator fails the test: it never skips.

mod common;

use std::collections::BTreeSet;
use std::io::Read;
use std::time::Duration;

use common::seeded::connect;
use common::services::Service;
use common::{unique, Pipeline, Session};
use serde_json::{json, Value};

const FILES: [&str; 9] = [
    "README.txt",
    "aggregates.jsonl",
    "devices.jsonl",
    "fhir/bundle.json",
    "insights.jsonl",
    "profile.json",
    "samples.jsonl",
    "share-access.jsonl",
    "shares.jsonl",
];

async fn sync(user: &Session, device: &str, samples: Value) {
    let response = user
        .post(
            &format!("/api/v1/devices/{device}/sync"),
            json!({ "samples": samples }),
        )
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// A few days of steps, heart rate, weight and blood pressure (two readings taken together,
/// and one alone) from a watch and a cuff.
async fn history(user: &Session) -> (String, String) {
    let watch = user.device("apple_watch", &unique("watch")).await;
    let cuff = user.device("third_party_scale", &unique("cuff")).await;
    for day in 1..=3 {
        let at = |h: u32| format!("2026-11-{day:02}T{h:02}:00:00Z");
        sync(
            user,
            &watch,
            json!([
                {"type": "STEPS", "value": 1000 * day, "unit": "count", "start_date": at(8),
                 "end_date": at(9), "source_app": "com.example.walk", "metadata": {"indoor": "no"}},
                {"type": "HEART_RATE", "value": 60 + day, "unit": "count/min",
                 "start_date": at(10), "end_date": at(10)},
            ]),
        )
        .await;
        sync(
            user,
            &cuff,
            json!([
                {"type": "WEIGHT", "value": 70 + day, "unit": "kg", "start_date": at(7), "end_date": at(7)},
                {"type": "BLOOD_PRESSURE_SYSTOLIC", "value": 120, "unit": "mmHg", "start_date": at(7), "end_date": at(7)},
                {"type": "BLOOD_PRESSURE_DIASTOLIC", "value": 80, "unit": "mmHg", "start_date": at(7), "end_date": at(7)},
            ]),
        )
        .await;
    }
    sync(
        user,
        &cuff,
        json!([{"type": "BLOOD_PRESSURE_SYSTOLIC", "value": 131, "unit": "mmHg",
                "start_date": "2026-11-04T07:00:00Z", "end_date": "2026-11-04T07:00:00Z"}]),
    )
    .await;
    (watch, cuff)
}

fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    let mut files = std::collections::BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let mut content = Vec::new();
        file.read_to_end(&mut content).unwrap();
        files.insert(file.name().unwrap().to_string(), content);
    }
    files
}

fn lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_export_holds_every_record_of_the_user_and_nothing_of_anyone_else() {
    let pipeline = Pipeline::start().await;
    pipeline.start_insights_processor();
    let owner = pipeline.new_user("Europe/Berlin").await;
    let other = pipeline.new_user("UTC").await;
    let (watch, cuff) = history(&owner).await;
    let (other_watch, _) = history(&other).await;
    pipeline.settle().await;

    let response = owner.get("/api/v1/me/export").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"healthpipe-export-"));
    let files = unzip(&response.bytes().await.unwrap());
    assert_eq!(files.keys().map(String::as_str).collect::<Vec<_>>(), FILES);

    // Nothing of the other user anywhere.
    for (name, content) in &files {
        let text = String::from_utf8_lossy(content);
        for theirs in [&other.user_id, &other_watch] {
            assert!(!text.contains(theirs.as_str()), "{name} holds {theirs}");
        }
    }

    // Every record the owner has, compared with the database.
    let db = connect(&pipeline.database_url).await;
    let ids = |sql: &'static str| {
        let db = &db;
        let user = owner.user_id.clone();
        async move {
            db.query(sql, &[&user])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<_, String>(0))
                .collect::<BTreeSet<String>>()
        }
    };
    let samples = lines(&files["samples.jsonl"]);
    let exported: BTreeSet<String> = samples
        .iter()
        .map(|s| s["sample_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        exported,
        ids("SELECT sample_id::text FROM samples WHERE user_id::text = $1").await
    );
    assert_eq!(exported.len(), 16);
    let steps = samples
        .iter()
        .find(|s| s["sample_type"] == "STEPS")
        .unwrap();
    assert_eq!(steps["unit"], "count");
    assert_eq!(steps["source_app"], "com.example.walk");
    assert_eq!(steps["metadata"]["indoor"], "no");
    let aggregates = lines(&files["aggregates.jsonl"]);
    let stored: i64 = db
        .query_one(
            "SELECT count(*) FROM aggregates WHERE user_id::text = $1",
            &[&owner.user_id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(stored > 0);
    assert_eq!(aggregates.len() as i64, stored);
    let devices: BTreeSet<String> = lines(&files["devices.jsonl"])
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(devices, BTreeSet::from([watch, cuff]));
    let profile: Value = serde_json::from_slice(&files["profile.json"]).unwrap();
    assert_eq!(profile["id"], json!(owner.user_id));
    assert!(profile.get("password_hash").is_none());
    let insights = lines(&files["insights.jsonl"]);
    let stored: i64 = db
        .query_one(
            "SELECT count(*) FROM insights WHERE user_id::text = $1",
            &[&owner.user_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(insights.len() as i64, stored);

    // The FHIR Bundle: valid R4, the Patient, one Observation per sample with blood pressure
    // taken together as one panel (3 panels and one lone systolic: 16 samples, 13 entries).
    let bundle = &files["fhir/bundle.json"];
    if let Err(complaint) = common::fhir::validate_bundle(bundle) {
        panic!("the export's Bundle does not validate: {complaint}");
    }
    let bundle: Value = serde_json::from_slice(bundle).unwrap();
    let entries = bundle["entry"].as_array().unwrap();
    assert_eq!(entries[0]["resource"]["resourceType"], "Patient");
    assert_eq!(entries[0]["resource"]["id"], json!(owner.user_id));
    assert_eq!(entries.len(), 1 + 16 - 3);
    let panels = entries
        .iter()
        .filter(|e| e["resource"]["code"]["coding"][0]["code"] == "85354-9")
        .count();
    assert_eq!(panels, 3);
}

/// Resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_long_history_streams_out_without_the_gateway_holding_it() {
    const SAMPLES: i64 = 150_000;
    let pipeline = Pipeline::without_processor().await;
    let user = pipeline.new_user("UTC").await;
    let device = user.device("apple_watch", &unique("watch")).await;
    // A long history of heart rate, written into the projection directly: the pipeline's
    // way in is tested elsewhere, this is about the way out.
    let db = connect(&pipeline.database_url).await;
    db.execute(
        "INSERT INTO samples (user_id, sample_id, device_id, sample_type, value, start_time, \
         end_time, utc_offset_seconds, source_app, metadata) \
         SELECT $1::text::uuid, gen_random_uuid(), $2::text::uuid, 'HEART_RATE', 60 + i % 40, \
                t, t, 0, 'com.example.watch', '{\"motion\": \"0\"}'::jsonb \
         FROM generate_series(1, $3::bigint) AS i, \
              LATERAL (SELECT timestamptz '2025-01-01' + i * interval '3 minutes') AS s(t)",
        &[&user.user_id, &device, &SAMPLES],
    )
    .await
    .expect("the history is written");

    let logs = std::env::temp_dir().join(unique("export-logs"));
    std::fs::create_dir_all(&logs).unwrap();
    let mut gateway = Service::gateway(&pipeline, &logs, 30);
    let http = reqwest::Client::new();
    gateway.wait_healthy(&http).await;
    let pid = gateway.pid().unwrap();
    let export = || {
        http.get(format!("{}/api/v1/me/export", gateway.url))
            .bearer_auth(&user.token)
            .timeout(Duration::from_secs(300))
            .send()
    };
    // A first, small request warms the process (pools, caches) before the baseline.
    assert_eq!(
        http.get(format!("{}/api/v1/me", gateway.url))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let baseline = rss_kib(pid);
    let mut response = export().await.unwrap();
    assert_eq!(response.status(), 200);
    let (mut body, mut peak) = (Vec::new(), baseline);
    while let Some(chunk) = response.chunk().await.unwrap() {
        body.extend_from_slice(&chunk);
        peak = peak.max(rss_kib(pid));
    }
    gateway.stop();

    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&body)).expect("a whole zip");
    let mut uncompressed = 0;
    for i in 0..archive.len() {
        uncompressed += archive.by_index(i).unwrap().size();
    }
    let mut samples = String::new();
    archive
        .by_name("samples.jsonl")
        .unwrap()
        .read_to_string(&mut samples)
        .unwrap();
    assert_eq!(samples.lines().count() as i64, SAMPLES);
    let growth_mib = (peak.saturating_sub(baseline)) as f64 / 1024.0;
    let uncompressed_mib = uncompressed as f64 / (1024.0 * 1024.0);
    println!(
        "export of {SAMPLES} samples: {:.1} MiB zipped, {uncompressed_mib:.1} MiB of files; \
         gateway RSS {:.1} MiB before, peak growth {growth_mib:.1} MiB",
        body.len() as f64 / (1024.0 * 1024.0),
        baseline as f64 / 1024.0
    );
    assert!(
        uncompressed_mib > 100.0,
        "the history is too small to show anything: {uncompressed_mib:.1} MiB"
    );
    assert!(
        growth_mib < 48.0,
        "the gateway grew by {growth_mib:.1} MiB exporting {uncompressed_mib:.1} MiB: it holds the export"
    );
}
