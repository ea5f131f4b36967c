//! `healthpipe replay`: the aggregation projection rebuilt from the topics into a schema of
//! its own while the live one keeps serving gives identical tables (checksums); `--switch`
//! swaps it in with no failed query while a client keeps reading, and the live processor
//! carries on from the replay's positions, exactly; `replay drop` removes the old tables.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::query::{db, patch, patch_device, sync};
use common::services::run_command;
use common::*;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

/// Steps and heart rate for `days` days of October 2026 from `device`, ids seeded by `seed`.
fn october(seed: u128, days: u32, value: f64) -> Vec<Value> {
    let mut samples = Vec::new();
    for day in 1..=days {
        let id = |k: u128| uuid::Uuid::from_u128(seed * 1_000 + u128::from(day) * 10 + k);
        let date = format!("2026-10-{day:02}");
        samples.push(common::query::steps(
            &id(1).to_string(),
            value + f64::from(day),
            &format!("{date}T09:00:00Z"),
            &format!("{date}T09:30:00Z"),
        ));
        samples.push(common::query::sample(
            &id(2).to_string(),
            "HEART_RATE",
            60.0 + f64::from(day % 7),
            "count/min",
            &format!("{date}T10:00:00Z"),
            &format!("{date}T10:00:00Z"),
        ));
    }
    samples
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replay_rebuilds_the_projection_and_switches_in_while_readers_read() {
    let pipeline = Pipeline::start().await;
    let alice = pipeline.new_user("Europe/Berlin").await;
    let bob = pipeline.new_user("America/New_York").await;
    let alice_phone = alice.device("iphone", &unique("phone")).await;
    let alice_watch = alice.device("apple_watch", &unique("watch")).await;
    let bob_phone = bob.device("iphone", &unique("phone")).await;
    sync(&alice, &alice_phone, october(1, 20, 1_000.0)).await;
    sync(&alice, &alice_watch, october(2, 20, 1_500.0)).await;
    sync(&bob, &bob_phone, october(3, 25, 800.0)).await;
    // Changes that re-bucket and re-rank, a deletion and a share: all part of the log.
    let response = patch_device(&alice, &alice_phone, json!({"priority": 120})).await;
    assert_eq!(response.status(), 200, "priority change");
    let response = patch(&bob, "/api/v1/me", json!({"timezone": "Asia/Kolkata"})).await;
    assert_eq!(response.status(), 200, "time-zone change");
    let deleted = uuid::Uuid::from_u128(3_000 + 50 + 1).to_string();
    let response = bob
        .http
        .delete(pipeline.url("/api/v1/samples"))
        .bearer_auth(&bob.token)
        .json(&json!({ "ids": [deleted] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "deletion");
    let response = alice
        .post(
            "/api/v1/shares",
            json!({"recipient_email": "dr@clinic.example.org", "data_types": ["STEPS"],
                   "date_start": "2026-10-01", "date_end": "2026-10-20",
                   "expires_at": (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339(),
                   "label": "replay"}),
        )
        .await;
    assert_eq!(response.status(), 201, "share");
    pipeline.settle_aggregation().await;

    let client = db(&pipeline).await;
    let everything = [
        "samples",
        "aggregates",
        "sample_index",
        "device_rankings",
        "user_profiles",
        "share_grants",
    ];
    // The command line, as an operator or analyst runs it.
    let out = run_command(
        &pipeline,
        &["replay", "aggregation", "--into", "rebuilt", "--quiet"],
        &[],
    );
    assert!(out.contains("into schema rebuilt"), "{out}");
    let differing =
        common::checksums::differences((&client, "public"), (&client, "rebuilt"), &everything)
            .await;
    assert!(
        differing.is_empty(),
        "the replay differs from the live projection:\n{}",
        differing.join("\n")
    );

    // A client keeps reading while more data arrives and the replay switches in.
    let reading = Arc::new(AtomicBool::new(true));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let reader = {
        let (alice, reading, ok, failed) =
            (alice.clone(), reading.clone(), ok.clone(), failed.clone());
        tokio::spawn(async move {
            let paths = [
                "/api/v1/aggregates?type=STEPS&period=day&from=2026-10-01&to=2026-11-01",
                "/api/v1/samples?type=STEPS&from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z",
                "/api/v1/shares",
            ];
            let mut failures = Vec::new();
            while reading.load(Ordering::Relaxed) {
                for path in paths {
                    let response = alice.get(path).await;
                    if response.status() == 200 {
                        ok.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                        failures.push(format!("{path}: {}", response.status()));
                    }
                }
            }
            failures
        })
    };
    sync(&alice, &alice_phone, october(4, 28, 2_000.0)).await;
    pipeline.settle_aggregation().await;
    let reads_before_switch = ok.load(Ordering::Relaxed);
    let replayed = healthpipe::replay::aggregation(
        pipeline.processor_config(),
        healthpipe::replay::ReplayArgs {
            into: "rebuilt".into(),
            from_beginning: false,
            from: None,
            switch: true,
            live_group: pipeline.processor_config().group_id,
            quiet: true,
        },
        CancellationToken::new(),
    )
    .await
    .expect("the replay resumes and switches");
    assert!(replayed.switched);
    assert!(
        replayed.events > 0,
        "the resumed replay applied the new events"
    );
    // After the switch the live processor carries on, on the swapped-in tables.
    let late = common::query::steps(
        &uuid::Uuid::from_u128(9_999).to_string(),
        4_321.0,
        "2026-10-28T12:00:00Z",
        "2026-10-28T12:30:00Z",
    );
    sync(&bob, &bob_phone, vec![late]).await;
    pipeline.settle_aggregation().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    reading.store(false, Ordering::Relaxed);
    let failures = reader.await.unwrap();
    assert!(
        failures.is_empty(),
        "reads failed during the switch: {failures:?}"
    );
    assert!(
        ok.load(Ordering::Relaxed) > reads_before_switch,
        "the client read through the switch"
    );
    let steps = common::query::get_json(
        &bob,
        "/api/v1/aggregates?type=STEPS&period=day&from=2026-10-28&to=2026-10-29",
    )
    .await;
    assert!(
        steps.to_string().contains("4321"),
        "bob's sample synced after the switch is aggregated: {steps}"
    );

    // Still exact: a fresh replay of the whole log equals the switched-in tables, which the
    // live processor kept writing after the switch.
    run_command(
        &pipeline,
        &["replay", "aggregation", "--into", "check_after", "--quiet"],
        &[],
    );
    let differing =
        common::checksums::differences((&client, "public"), (&client, "check_after"), &everything)
            .await;
    assert!(
        differing.is_empty(),
        "after the switch:\n{}",
        differing.join("\n")
    );

    // The previous tables wait in `rebuilt` until dropped; public is never dropped.
    let previous: i64 = client
        .query_one("SELECT count(*) FROM rebuilt.samples", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        previous > 0,
        "the previous live tables are kept in the replay's schema"
    );
    run_command(&pipeline, &["replay", "drop", "rebuilt"], &[]);
    run_command(&pipeline, &["replay", "drop", "check_after"], &[]);
    let schemas: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_namespace WHERE nspname IN ('rebuilt', 'check_after')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(schemas, 0);
    let refused = std::process::Command::new(common::services::binary())
        .args(["replay", "drop", "public"])
        .env("DATABASE_URL", &pipeline.database_url)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("schema"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

/// `--from` replays only what was appended from that time on: an analyst's slice, beside the
/// live tables.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replay_from_a_time_holds_only_the_events_appended_since() {
    let pipeline = Pipeline::start().await;
    let user = pipeline.new_user("UTC").await;
    let phone = user.device("iphone", &unique("phone")).await;
    sync(&user, &phone, october(1, 5, 100.0)).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let from = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let later = october(2, 3, 200.0);
    let later_ids: std::collections::BTreeSet<String> = later
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    sync(&user, &phone, later).await;
    pipeline.settle_aggregation().await;

    run_command(
        &pipeline,
        &[
            "replay",
            "aggregation",
            "--into",
            "slice",
            "--from",
            &from.to_rfc3339(),
            "--quiet",
        ],
        &[],
    );
    let client = db(&pipeline).await;
    let ids = |schema: &'static str| {
        let client = &client;
        async move {
            client
                .query(
                    &format!("SELECT sample_id::text FROM {schema}.samples"),
                    &[],
                )
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<_, String>(0))
                .collect::<std::collections::BTreeSet<String>>()
        }
    };
    assert_eq!(ids("slice").await, later_ids);
    assert_eq!(
        ids("public").await.len(),
        16,
        "the live tables keep everything"
    );
}

/// The switch takes the views over the swapped tables before the tables themselves, in the
/// order a reader of a view takes them. Every session lookup reads the view `bucket_zones`
/// (over `user_profiles`): a swap that moved `user_profiles` first and took the view last
/// deadlocked with a lookup holding the view, and PostgreSQL failed the reader's request.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_switch_takes_the_views_before_their_tables() {
    let pipeline = Pipeline::without_processor().await;
    let reader = db(&pipeline).await;
    let monitor = db(&pipeline).await;
    let pool = healthpipe_storage::connect(&pipeline.database_url, 1).unwrap();
    let tables = healthpipe_storage::projections::AGGREGATION_TABLES;
    {
        let client = pool.get().await.unwrap();
        healthpipe_storage::replay::prepare(&client, "views_first", &tables)
            .await
            .unwrap();
    }
    // A reader inside a table the swap moves: the swap waits for it there.
    reader
        .batch_execute("BEGIN; LOCK TABLE user_profiles IN ACCESS SHARE MODE")
        .await
        .unwrap();
    let swapping = tokio::spawn(async move {
        let mut client = pool.get().await.unwrap();
        let tx = client.transaction().await.unwrap();
        healthpipe_storage::replay::swap(&tx, "views_first", &tables)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    });
    let waiting = "SELECT count(*) FROM pg_locks \
                   WHERE relation = 'public.user_profiles'::regclass AND NOT granted";
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while monitor
        .query_one(waiting, &[])
        .await
        .unwrap()
        .get::<_, i64>(0)
        == 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the swap never waited for user_profiles"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let view_held: bool = monitor
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_locks \
             WHERE relation = 'public.bucket_zones'::regclass \
               AND mode = 'AccessExclusiveLock' AND granted)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    reader.batch_execute("COMMIT").await.unwrap();
    swapping.await.unwrap();
    assert!(
        view_held,
        "the swap waited for a table without holding the view over it: a session lookup \
         holding the view deadlocks with it"
    );
}
