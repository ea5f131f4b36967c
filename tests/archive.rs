//! `healthpipe archive` on the real stack: back-dated history synced through the gateway and
//! projected by the processor goes to Hive-partitioned Parquet in a scratch folder, which
//! pyarrow and DuckDB (tests/clients/archive_read.py) read back row for row as the database
//! holds it.
//!
//! - a dry run writes and records nothing; months younger than `ARCHIVE_AFTER_DAYS` are not
//!   written; a month is split into parts of `ARCHIVE_PART_ROWS`; the manifest names exactly
//!   the files, with their SHA-256; a second run writes nothing;
//! - late rows rewrite their month, without duplicates, and leave the other months' files
//!   alone; until then the month is not "archived and current" for the retention command;
//! - once retention dropped a month's chunks, a run leaves its files alone; an erased user's
//!   rows leave the files (the erasure noted by the processor); late rows join the archived
//!   ones;
//! - partitions past the seven-year retention are deleted, younger ones kept.
//!
//! A missing Python reader fails the test: it never skips.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Months, SecondsFormat, TimeDelta, Utc};
use common::archive::{count, db_rows, ArchiveDir};
use common::query::{db, sync};
use common::{stack, unique, Pipeline, Session};
use healthpipe_storage::archive::Relation;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const ENGINES: [&str; 2] = ["pyarrow", "duckdb"];
const RELATIONS: [&str; 2] = ["samples", "aggregates"];
const DEFAULT_AFTER_DAYS: i32 = 90;

/// The first instant of the month `back` months before `now`'s.
fn month_start(now: DateTime<Utc>, back: u32) -> DateTime<Utc> {
    let first = now.date_naive().with_day(1).unwrap() - Months::new(back);
    first.and_hms_opt(0, 0, 0).unwrap().and_utc()
}

fn next_month(month: DateTime<Utc>) -> DateTime<Utc> {
    month.checked_add_months(Months::new(1)).unwrap()
}

fn month_name(month: DateTime<Utc>) -> String {
    month.format("%Y-%m").to_string()
}

/// Steps (one with an app and metadata, sealed into details), and a heart rate with a sync
/// identifier, on `days` of `month`; `seed` tells users apart. Returns the sample ids.
async fn history(
    user: &Session,
    device: &str,
    month: DateTime<Utc>,
    days: &[i64],
    seed: u32,
) -> Vec<String> {
    let mut samples = Vec::new();
    for &day in days {
        let at = |hour: i64, minute: i64| {
            (month + TimeDelta::days(day - 1) + TimeDelta::hours(hour) + TimeDelta::minutes(minute))
                .to_rfc3339_opts(SecondsFormat::Secs, true)
        };
        let id = || uuid::Uuid::new_v4().to_string();
        samples.extend([
            json!({"id": id(), "type": "STEPS", "value": 1000 * day + i64::from(seed),
                   "unit": "count", "start_date": at(8, 0), "end_date": at(8, 30),
                   "source_app": "com.example.walk", "metadata": {"note": "archive me"}}),
            json!({"id": id(), "type": "STEPS", "value": 200 + seed, "unit": "count",
                   "start_date": at(12, 0), "end_date": at(12, 20)}),
            json!({"id": id(), "type": "HEART_RATE", "value": 60 + seed, "unit": "count/min",
                   "start_date": at(9, 0), "end_date": at(9, 0),
                   "metadata": {"sync_identifier": format!("hr-{}", id()), "sync_version": "1"}}),
        ]);
    }
    let ids = samples
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    sync(user, device, samples).await;
    ids
}

/// The months (`YYYY-MM`) the archive has files of, per relation.
fn months_written(archive: &ArchiveDir) -> BTreeMap<String, BTreeSet<String>> {
    let mut months: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in archive.files().keys() {
        let relation = path.split('/').next().unwrap().to_string();
        let month = path
            .split('/')
            .find_map(|part| part.strip_prefix("month="))
            .unwrap_or_else(|| panic!("{path} is not in a month folder"));
        months
            .entry(relation)
            .or_default()
            .insert(month.to_string());
    }
    months
}

/// Both readers see exactly the database's rows of the months older than `after_days`.
async fn assert_archive_is_the_database(
    pipeline: &Pipeline,
    archive: &ArchiveDir,
    after_days: i32,
) {
    for relation in RELATIONS {
        let expected = db_rows(pipeline, relation, after_days).await;
        assert!(
            !expected.is_empty(),
            "no {relation} to archive: nothing checked"
        );
        for engine in ENGINES {
            let read = archive.read(relation, engine);
            assert!(
                read == expected,
                "{engine} reads {} {relation} rows, the database has {}; first difference: {:?}",
                read.len(),
                expected.len(),
                read.iter().zip(&expected).find(|(a, b)| a != b)
            );
        }
    }
}

/// What the retention command asks: the archived and current (type, month) of `samples`.
async fn archived_samples(pipeline: &Pipeline) -> Vec<(String, chrono::NaiveDate)> {
    let pool = healthpipe_storage::connect(&pipeline.database_url, 1).expect("pool");
    let client = pool.get().await.expect("a connection");
    healthpipe_storage::archive::archived_months(&client, Relation::Samples)
        .await
        .expect("archived months")
}

fn user_rows(rows: &[Value], user: &str) -> Vec<Value> {
    rows.iter()
        .filter(|r| r["user_id"] == user)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn old_months_become_hive_parquet_that_pyarrow_and_duckdb_read_back_row_for_row() {
    let pipeline = Pipeline::start().await;
    let now = Utc::now();
    let (older, old, recent) = (
        month_start(now, 26),
        month_start(now, 25),
        month_start(now, 1),
    );
    for (seed, timezone) in [(1, "UTC"), (2, "Europe/Berlin")] {
        let user = pipeline.new_user(timezone).await;
        let device = user.device("apple_watch", &unique("watch")).await;
        for month in [older, old, recent] {
            history(&user, &device, month, &[3, 10], seed).await;
        }
    }
    pipeline.settle_aggregation().await;
    let archive = ArchiveDir::new();

    // A dry run tells what it would write, and writes and records nothing.
    let dry = archive.run(&pipeline, &["--dry-run"], &[]).await;
    assert!(dry["partitions written"] >= 6, "{dry:?}");
    assert_eq!(dry["files written"], 0, "{dry:?}");
    assert!(
        !archive.dir.exists(),
        "a dry run made {}",
        archive.dir.display()
    );
    assert_eq!(
        count(&pipeline, "SELECT count(*) FROM archive_months").await,
        0
    );

    // Only months that ended more than ARCHIVE_AFTER_DAYS ago: one day more than `old` is
    // over leaves it out.
    let after_days = (now - next_month(old)).num_days() as i32 + 1;
    let first = archive
        .run(
            &pipeline,
            &[],
            &[
                ("ARCHIVE_AFTER_DAYS", &after_days.to_string()),
                ("ARCHIVE_PART_ROWS", "4"),
            ],
        )
        .await;
    assert!(first["files written"] > 0, "{first:?}");
    let written = months_written(&archive);
    assert_eq!(written["samples"], BTreeSet::from([month_name(older)]));
    assert!(
        !written["aggregates"].contains(&month_name(old)),
        "{written:?}"
    );
    assert_archive_is_the_database(&pipeline, &archive, after_days).await;

    // With the default 90 days, `old` goes too; `recent` (its month ended less than 90 days
    // ago, though the database has rows of it) does not.
    let second = archive
        .run(&pipeline, &[], &[("ARCHIVE_PART_ROWS", "4")])
        .await;
    assert!(second["partitions unchanged"] > 0, "{second:?}");
    assert!(second["partitions written"] > 0, "{second:?}");
    assert_archive_is_the_database(&pipeline, &archive, DEFAULT_AFTER_DAYS).await;
    let written = months_written(&archive);
    assert!(written["samples"].contains(&month_name(old)), "{written:?}");
    for relation in RELATIONS {
        assert!(
            !written[relation].contains(&month_name(recent)),
            "{written:?}"
        );
    }
    let recent_rows = db(&pipeline)
        .await
        .query_one(
            "SELECT count(*) FROM samples WHERE start_time >= $1",
            &[&recent],
        )
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert!(
        recent_rows > 0,
        "no recent rows: the age rule was not tested"
    );

    // Hive layout; parts of at most ARCHIVE_PART_ROWS rows; the manifest names exactly the
    // files, with their size and SHA-256.
    let files = archive.files();
    let manifest: BTreeMap<String, (i64, i64, String)> = db(&pipeline)
        .await
        .query(
            "SELECT path, row_count, bytes, sha256 FROM archive_files",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3))))
        .collect();
    assert_eq!(
        manifest.keys().collect::<Vec<_>>(),
        files.keys().collect::<Vec<_>>()
    );
    let mut parts_per_folder: BTreeMap<String, usize> = BTreeMap::new();
    for (path, bytes) in &files {
        let segments: Vec<&str> = path.split('/').collect();
        assert!(
            segments.len() == 4
                && RELATIONS.contains(&segments[0])
                && segments[1].starts_with("sample_type=")
                && segments[2].starts_with("month=")
                && segments[3].starts_with("part-")
                && segments[3].ends_with(".parquet"),
            "{path} is not a Hive partition's part"
        );
        let (rows, size, sha256) = &manifest[path];
        assert!((1..=4).contains(rows), "{path} holds {rows} rows");
        assert_eq!(*size, bytes.len() as i64, "{path}");
        assert_eq!(*sha256, hex::encode(Sha256::digest(bytes)), "{path}");
        *parts_per_folder.entry(segments[..3].join("/")).or_default() += 1;
    }
    assert!(
        parts_per_folder.values().any(|parts| *parts > 1),
        "no partition was split: {parts_per_folder:?}"
    );

    // Nothing changed: a third run writes nothing and the files stay as they are.
    let third = archive
        .run(&pipeline, &[], &[("ARCHIVE_PART_ROWS", "4")])
        .await;
    assert_eq!(third["partitions written"], 0, "{third:?}");
    assert_eq!(third["files written"], 0, "{third:?}");
    assert_eq!(third["files deleted"], 0, "{third:?}");
    assert_eq!(archive.files(), files);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn late_rows_rewrite_their_month_without_duplicates_and_leave_the_others_alone() {
    let pipeline = Pipeline::start().await;
    let now = Utc::now();
    let (older, old) = (month_start(now, 27), month_start(now, 26));
    let user = pipeline.new_user("UTC").await;
    let device = user.device("apple_watch", &unique("watch")).await;
    for month in [older, old] {
        history(&user, &device, month, &[3, 10], 1).await;
    }
    pipeline.settle_aggregation().await;
    let archive = ArchiveDir::new();
    archive.run(&pipeline, &[], &[]).await;
    let before = archive.files();
    let both =
        |month: DateTime<Utc>| ["HEART_RATE", "STEPS"].map(|t| (t.to_string(), month.date_naive()));
    let mut all = both(older).to_vec();
    all.extend(both(old));
    all.sort();
    assert_eq!(archived_samples(&pipeline).await, all);

    // An import of old history: a sample of `older`, synced now. Until the archive has it,
    // `older` is not current: the retention command must not drop its chunks.
    let late = history(&user, &device, older, &[20], 7).await;
    pipeline.settle_aggregation().await;
    assert_eq!(archived_samples(&pipeline).await, both(old));
    let summary = archive.run(&pipeline, &[], &[]).await;
    assert!(summary["partitions written"] > 0, "{summary:?}");
    assert!(summary["partitions unchanged"] > 0, "{summary:?}");

    let after = archive.files();
    let of_month = |files: &BTreeMap<String, Vec<u8>>, month: DateTime<Utc>| {
        let folder = format!("month={}/", month_name(month));
        files
            .iter()
            .filter(|(path, _)| path.starts_with("samples/") && path.contains(&folder))
            .map(|(path, bytes)| (path.clone(), bytes.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(
        of_month(&after, old),
        of_month(&before, old),
        "`old` was rewritten"
    );
    assert_ne!(of_month(&after, older), of_month(&before, older));
    assert_archive_is_the_database(&pipeline, &archive, DEFAULT_AFTER_DAYS).await;
    assert_eq!(archived_samples(&pipeline).await, all);
    for engine in ENGINES {
        let rows = archive.read("samples", engine);
        for id in &late {
            let copies = rows
                .iter()
                .filter(|r| r["sample_id"] == id.as_str())
                .count();
            assert_eq!(
                copies, 1,
                "{engine}: late sample {id} is there {copies} times"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn erased_users_leave_the_archive_even_after_retention_dropped_their_month() {
    let pipeline = Pipeline::start().await;
    let now = Utc::now();
    let month = month_start(now, 25);
    let erased = pipeline.new_user("UTC").await;
    let kept = pipeline.new_user("UTC").await;
    let mut devices = Vec::new();
    for (seed, user) in [(1, &erased), (2, &kept)] {
        let device = user.device("apple_watch", &unique("watch")).await;
        history(user, &device, month, &[3, 10], seed).await;
        devices.push(device);
    }
    pipeline.settle_aggregation().await;
    let archive = ArchiveDir::new();
    archive.run(&pipeline, &[], &[]).await;
    let before: BTreeMap<&str, Vec<Value>> = RELATIONS
        .iter()
        .map(|r| (*r, archive.read(r, "pyarrow")))
        .collect();
    for rows in before.values() {
        assert!(!user_rows(rows, &erased.user_id).is_empty());
        assert!(!user_rows(rows, &kept.user_id).is_empty());
    }

    // Retention drops the archived month's chunks: the archive alone holds its rows now, and
    // a run keeps them.
    let client = db(&pipeline).await;
    for relation in RELATIONS {
        client
            .query(
                "SELECT drop_chunks($1::text::regclass, older_than => $2::timestamptz)",
                &[&relation, &next_month(month)],
            )
            .await
            .unwrap();
    }
    let hot = count(
        &pipeline,
        &format!(
            "SELECT count(*) FROM samples WHERE start_time < '{}'",
            next_month(month)
        ),
    )
    .await;
    assert_eq!(hot, 0, "the month's sample chunks were not dropped");
    // Nothing of the month is left in the hot tier to compare: its files stay as they are.
    let files = archive.files();
    let summary = archive.run(&pipeline, &[], &[]).await;
    assert_eq!(summary["partitions written"], 0, "{summary:?}");
    assert_eq!(summary["files deleted"], 0, "{summary:?}");
    assert_eq!(archive.files(), files);

    // The erasure, through the gateway and the processor, which notes it for the archive.
    let response = erased.erase("correct horse battery").await;
    assert_eq!(response.status(), 202);
    pipeline.settle_aggregation().await;
    pipeline
        .wait_for_sql(
            &format!(
                "SELECT count(*) FROM archive_erasures WHERE user_id = '{}'",
                erased.user_id
            ),
            "1",
        )
        .await;
    let summary = archive.run(&pipeline, &[], &[]).await;
    assert_eq!(summary["erasures applied"], 1, "{summary:?}");
    assert!(summary["erased rows dropped"] > 0, "{summary:?}");
    for relation in RELATIONS {
        for engine in ENGINES {
            let rows = archive.read(relation, engine);
            assert!(
                user_rows(&rows, &erased.user_id).is_empty(),
                "{engine}: {relation} of the erased user left"
            );
            assert_eq!(
                rows,
                user_rows(&before[relation], &kept.user_id),
                "{engine}: the other user's {relation} changed"
            );
        }
    }
    assert_eq!(
        count(&pipeline, "SELECT count(*) FROM archive_erasures").await,
        0
    );
    let users_left = count(
        &pipeline,
        &format!(
            "SELECT count(*) FROM archive_file_users WHERE user_id = '{}'",
            erased.user_id
        ),
    )
    .await;
    assert_eq!(users_left, 0);

    // Late rows of the dropped month join the archived ones.
    let late = history(&kept, &devices[1], month, &[20], 2).await;
    pipeline.settle_aggregation().await;
    archive.run(&pipeline, &[], &[]).await;
    let mut expected = user_rows(&before["samples"], &kept.user_id);
    expected.extend(db_rows(&pipeline, "samples", DEFAULT_AFTER_DAYS).await);
    expected.sort_by_cached_key(|row| row.to_string());
    assert_eq!(
        expected.len(),
        user_rows(&before["samples"], &kept.user_id).len() + late.len()
    );
    for engine in ENGINES {
        assert_eq!(archive.read("samples", engine), expected, "{engine}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn partitions_past_the_seven_year_retention_are_deleted_and_younger_ones_kept() {
    let pipeline = Pipeline::without_services(&stack().kafka_brokers).await;
    let now = Utc::now();
    let expired = month_start(now, 12 * 7 + 2);
    let kept = month_start(now, 12 * 7 - 2);
    let archive = ArchiveDir::new();
    // Partitions an archive wrote back then: a file each, in the manifest.
    let client = db(&pipeline).await;
    let mut paths = Vec::new();
    for month in [expired, kept] {
        let path = format!(
            "samples/sample_type=STEPS/month={}/part-00000-{}.parquet",
            month_name(month),
            unique("w")
        );
        let file = archive.dir.join(&path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, b"an archived month").unwrap();
        let day = month.date_naive();
        client
            .execute(
                "INSERT INTO archive_months (relation, sample_type, month, source_rows, \
                 source_fingerprint) VALUES ('samples', 'STEPS', $1, 0, 0)",
                &[&day],
            )
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO archive_files (path, relation, sample_type, month, part, row_count, \
                 bytes, sha256) VALUES ($1, 'samples', 'STEPS', $2, 0, 1, 17, '')",
                &[&path, &day],
            )
            .await
            .unwrap();
        paths.push(path);
    }

    let dry = archive.run(&pipeline, &["--dry-run"], &[]).await;
    assert_eq!(dry["partitions expired"], 1, "{dry:?}");
    assert_eq!(archive.files().len(), 2);

    let summary = archive.run(&pipeline, &[], &[]).await;
    assert_eq!(summary["partitions expired"], 1, "{summary:?}");
    assert_eq!(summary["files deleted"], 1, "{summary:?}");
    let left: Vec<String> = archive.files().into_keys().collect();
    assert_eq!(left, [paths[1].clone()]);
    let months: Vec<chrono::NaiveDate> = client
        .query("SELECT month FROM archive_months", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(months, [kept.date_naive()]);

    let again = archive.run(&pipeline, &[], &[]).await;
    assert_eq!(again["partitions expired"], 0, "{again:?}");
}
