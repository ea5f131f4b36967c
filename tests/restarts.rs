//! Server restarts under a running pipeline: PostgreSQL, then Kafka, are restarted (through
//! `scripts/stack restart`, keeping their data) while the aggregation processor works off a
//! backlog. It waits them out and the projection ends exactly as the pure expectation, every
//! sample stored once; the gateway takes new syncs again by itself.
//!
//! The only test in its binary: restarting a server disturbs everyone using it, and cargo
//! runs test binaries one after another.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use common::seeded::*;
use common::*;
use healthpipe::progress::lag;
use healthpipe::workload::UserSpec;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Value};

fn restart(service: &str) {
    let root = repo_root();
    let status = Command::new("bash")
        .arg(root.join("scripts/stack"))
        .args(["restart", service])
        .current_dir(&root)
        .status()
        .expect("run scripts/stack restart");
    assert!(status.success(), "scripts/stack restart {service} failed");
}

/// The processor's backlog, or `None` while a server is unreachable.
async fn backlog(pipeline: &Pipeline) -> Option<i64> {
    lag(
        &pipeline.database_url,
        &pipeline.kafka_brokers,
        &pipeline.topics.user_events,
        &pipeline.processor_config().group_id,
    )
    .await
    .ok()
}

/// Waits until the backlog is below `target` (or, with `target = 1`, gone).
async fn wait_for_backlog_below(pipeline: &Pipeline, target: i64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if let Some(n) = backlog(pipeline).await {
            if n < target {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{what}: backlog still >= {target}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_and_kafka_restarts_under_the_processor_leave_the_projection_exact() {
    let mut rng = StdRng::seed_from_u64(7);
    let pipeline = Pipeline::without_processor().await;
    let specs: Vec<UserSpec> = [chrono_tz::Europe::Paris, chrono_tz::America::Denver]
        .iter()
        .enumerate()
        .map(|(i, tz)| UserSpec {
            seed: 7_000 + i as u64,
            timezone: *tz,
            first_day: NaiveDate::from_ymd_opt(2026, 10, 20).unwrap(),
            days: 6,
            heart_rate_every_minutes: 2,
        })
        .collect();
    // Small syncs, so the backlog is many messages and the restarts land in the middle.
    let users = seed_users(&pipeline, &specs, 50, &mut rng).await;
    let total = backlog(&pipeline)
        .await
        .expect("backlog before the restarts");
    assert!(total > 100, "only {total} messages of backlog");

    let mut config = pipeline.processor_config();
    config.batch_max_messages = 5;
    let token = tokio_util::sync::CancellationToken::new();
    let processor = {
        let token = token.clone();
        tokio::spawn(async move { healthpipe_processors::run_aggregation(config, token).await })
    };

    wait_for_backlog_below(&pipeline, total * 3 / 4, "before the PostgreSQL restart").await;
    let before_pg = backlog(&pipeline).await;
    restart("postgres");
    wait_for_backlog_below(&pipeline, total / 2, "after the PostgreSQL restart").await;
    let before_kafka = backlog(&pipeline).await;
    restart("kafka");
    wait_for_backlog_below(&pipeline, 1, "after the Kafka restart").await;
    assert!(
        !processor.is_finished(),
        "the processor stopped during the restarts: {:?}",
        processor.await
    );
    eprintln!(
        "restarts: backlog {total} messages; {before_pg:?} left at the PostgreSQL restart, \
         {before_kafka:?} at the Kafka restart"
    );
    for (left, server) in [(before_pg, "PostgreSQL"), (before_kafka, "Kafka")] {
        assert!(
            left.is_some_and(|n| n > 0),
            "the processor had finished before the {server} restart"
        );
    }
    assert_projection_matches(&pipeline.database_url, &users).await;

    // The gateway recovers by itself: a sync is accepted again (503s while reconnecting are
    // allowed, with Retry-After) and applied.
    let user = &users[0];
    let deadline = Instant::now() + Duration::from_secs(60);
    let sample = json!({"id": uuid::Uuid::new_v4().to_string(), "type": "STEPS", "value": 12.0,
        "unit": "count", "start_date": "2026-10-21T10:00:00Z", "end_date": "2026-10-21T10:01:00Z"});
    loop {
        let response = pipeline
            .http
            .post(pipeline.url(&format!("/api/v1/devices/{}/sync", user.devices[0])))
            .bearer_auth(&user.token)
            .json(&json!({"samples": [sample]}))
            .send()
            .await
            .expect("gateway answers");
        let status = response.status();
        if status == 200 {
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["synced"], 1, "{body}");
            break;
        }
        assert!(
            status.is_server_error() && Instant::now() < deadline,
            "sync after the restarts: {status} {}",
            response.text().await.unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    wait_for_backlog_below(&pipeline, 1, "the new sync").await;
    token.cancel();
    processor
        .await
        .expect("processor task")
        .expect("processor stops cleanly");
}
