//! Exactly-once and replay, proven on the real stack.
//!
//! - A backlog of more than 100,000 samples of several users, devices and time zones is
//!   applied by the real `healthpipe process aggregation` binary, killed with SIGKILL at
//!   random (seeded) points and restarted until it has caught up: every aggregate row equals
//!   the pure expectation computed by `healthpipe_domain::aggregate_user` from the generated
//!   samples, and every sample is stored exactly once.
//! - Several in-process processors share the consumer group while partitions move between
//!   them (crashes and graceful stops): same result.
//! - A partition moved to another instance while the first is collecting a batch is
//!   applied once, by its new owner.
//! - Replaying the whole log into an empty database, with another group and other batch
//!   boundaries, gives identical projection tables (compared by checksums).
//!
//! Nothing waits a fixed time for a result: progress is polled (stored offsets against the
//! end offsets in Kafka) with deadlines.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use common::seeded::*;
use common::*;
use healthpipe::progress::{lag, wait_until_caught_up};
use healthpipe::workload::UserSpec;
use healthpipe_domain::Sample;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Samples per sync request for the big backlog.
const SYNC_CHUNK: usize = 5_000;

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_at_random_points_and_restarts_give_exactly_the_expected_aggregates() {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(1);
    let pipeline = Pipeline::without_processor().await;
    // 6 users x 17 days, heart rate every minute: ~107,000 samples. The zones cover both
    // autumn DST changes inside the range (Europe 2026-10-25, America 2026-11-01), the
    // southern hemisphere, a half-hour offset and UTC.
    let zones = [
        chrono_tz::Europe::Berlin,
        chrono_tz::America::New_York,
        chrono_tz::Asia::Kolkata,
        chrono_tz::Australia::Sydney,
        chrono_tz::UTC,
        chrono_tz::America::Los_Angeles,
    ];
    let specs: Vec<UserSpec> = zones
        .iter()
        .enumerate()
        .map(|(i, tz)| UserSpec {
            seed: 1_000 + i as u64,
            timezone: *tz,
            first_day: NaiveDate::from_ymd_opt(2026, 10, 18).unwrap(),
            days: 17,
            heart_rate_every_minutes: 1,
        })
        .collect();
    let users = seed_users(&pipeline, &specs, SYNC_CHUNK, &mut rng).await;
    let total: usize = users.iter().map(|u| u.samples.len()).sum();
    assert!(total >= 100_000, "only {total} samples generated");
    let seeded_at = started.elapsed();
    eprintln!("kill -9 test: {total} samples seeded in {seeded_at:.1?}");

    let group = pipeline.processor_config().group_id;
    let topic = pipeline.topics.user_events.clone();
    let lag_now = || async {
        lag(
            &pipeline.database_url,
            &pipeline.kafka_brokers,
            &topic,
            &group,
        )
        .await
        .expect("lag")
    };
    let backlog = lag_now().await;
    assert!(backlog > 0, "no backlog to process");

    // Small batches (4 messages, ~1,700 samples, dealt out over the lanes), so that a
    // run of under a second commits some batches and is killed inside others, with enough
    // backlog left for every kill.
    let env = ProcessEnv {
        database_url: pipeline.database_url.clone(),
        group: group.clone(),
        batch_max_messages: 4,
    };
    const WANTED_KILLS: usize = 4;
    let monitor = connect(&pipeline.database_url).await;
    let deadline = Instant::now() + Duration::from_secs(150);
    let mut kills: Vec<String> = Vec::new();
    let mut runs = 0;
    loop {
        assert!(
            Instant::now() < deadline,
            "not caught up in time; kills so far: {kills:?}"
        );
        runs += 1;
        assert!(runs <= 30, "too many runs; kills so far: {kills:?}");
        let before = lag_now().await;
        if before == 0 {
            break;
        }
        let mut process = ProcessorProcess::spawn(&pipeline, &env);
        let spawned = Instant::now();
        if kills.len() >= WANTED_KILLS {
            // Enough crashes: let this one finish the backlog.
            let left = deadline.saturating_duration_since(Instant::now());
            wait_until_caught_up(
                &pipeline.database_url,
                &pipeline.kafka_brokers,
                &topic,
                &group,
                left,
            )
            .await
            .unwrap_or_else(|e| panic!("final run: {e}; kills: {kills:?}"));
            process.assert_running();
            process.kill_9();
            break;
        }
        // Kill only once this run has committed something (it has joined the group and has
        // partitions), at a random point after that: inside a batch or between two.
        let progress_deadline = Instant::now() + Duration::from_secs(60);
        loop {
            process.assert_running();
            let now = lag_now().await;
            if now < before {
                break;
            }
            assert!(
                Instant::now() < progress_deadline,
                "run {runs} made no progress within 60 s (lag {now})"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let first_commit = spawned.elapsed();
        let run_for = Duration::from_millis(rng.random_range(100..700));
        tokio::time::sleep(run_for).await;
        process.assert_running();
        // For the record: whether the kill lands inside a batch's transaction.
        let open_transactions: i64 = monitor
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND xact_start IS NOT NULL AND pid <> pg_backend_pid()",
                &[],
            )
            .await
            .expect("pg_stat_activity")
            .get(0);
        process.kill_9();
        let after = lag_now().await;
        if after == 0 {
            // It finished before the kill: not a kill in the middle of processing.
            break;
        }
        assert!(after > 0);
        kills.push(format!(
            "run {runs}: first commit after {} ms, killed {} ms later ({}), lag {before} -> {after}",
            first_commit.as_millis(),
            run_for.as_millis(),
            if open_transactions > 0 {
                "inside a transaction"
            } else {
                "between transactions"
            }
        ));
    }
    assert!(
        kills.len() >= 3,
        "only {} kills happened while messages were left: {kills:?}",
        kills.len()
    );
    let processed_at = started.elapsed();

    assert_projection_matches(&pipeline.database_url, &users).await;
    eprintln!(
        "kill -9 test: {total} samples ({backlog} messages) of {} users; {} kills in {runs} runs:\n  {}\n\
         seeding {:.1?}, processing {:.1?}, checking {:.1?}",
        users.len(),
        kills.len(),
        kills.join("\n  "),
        seeded_at,
        processed_at - seeded_at,
        started.elapsed() - processed_at,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn processors_sharing_the_group_while_partitions_move_give_the_expected_aggregates() {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(2);
    let pipeline = Pipeline::without_processor().await;
    // 6 users x 9 days, heart rate every 2 minutes: ~31,000 samples.
    let zones = [
        chrono_tz::Europe::London,
        chrono_tz::America::Chicago,
        chrono_tz::Asia::Tokyo,
        chrono_tz::Pacific::Auckland,
        chrono_tz::Asia::Kathmandu,
        chrono_tz::America::Sao_Paulo,
    ];
    let specs: Vec<UserSpec> = zones
        .iter()
        .enumerate()
        .map(|(i, tz)| UserSpec {
            seed: 2_000 + i as u64,
            timezone: *tz,
            first_day: NaiveDate::from_ymd_opt(2026, 10, 27).unwrap(),
            days: 9,
            heart_rate_every_minutes: 2,
        })
        .collect();
    let users = seed_users(&pipeline, &specs, 25, &mut rng).await;
    let total: usize = users.iter().map(|u| u.samples.len()).sum();
    assert!(total >= 30_000, "only {total} samples generated");
    let seeded_at = started.elapsed();

    let mut config = pipeline.processor_config();
    // Small messages (syncs of 25 samples) in small batches (2 messages), so that the
    // backlog takes many batches and partitions move while it is applied: a backlog of
    // ~1,300 messages, since several lanes apply a few hundred in the time one move takes.
    config.batch_max_messages = 2;
    let group = config.group_id.clone();
    let topic = pipeline.topics.user_events.clone();
    let lag_now = || async {
        lag(
            &pipeline.database_url,
            &pipeline.kafka_brokers,
            &topic,
            &group,
        )
        .await
        .expect("lag")
    };

    let mut instances: Vec<Instance> = Vec::new();
    instances.push(Instance::start(&config));
    instances.push(Instance::start(&config));
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut moves: Vec<String> = Vec::new();
    // Each step: wait until the group has applied more, then take one instance away (a crash:
    // the task is aborted, inside a batch or not; or a graceful stop) and start a new one,
    // so partitions move twice (away from the old instance, then to the new one).
    for step in 0..10 {
        let before = lag_now().await;
        if before == 0 {
            break;
        }
        loop {
            let now = lag_now().await;
            if now < before {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "step {step}: no progress (lag {now}); moves: {moves:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(20..150))).await;
        let victim = rng.random_range(0..instances.len());
        let instance = instances.remove(victim);
        let graceful = rng.random_bool(0.5);
        instance.stop(graceful).await;
        let after = lag_now().await;
        instances.push(Instance::start(&config));
        if after == 0 {
            break;
        }
        moves.push(format!(
            "step {step}: {} an instance, lag {before} -> {after}",
            if graceful { "stopped" } else { "aborted" }
        ));
    }
    assert!(
        moves.len() >= 3,
        "the backlog was applied before partitions moved 3 times: {moves:?}"
    );
    let left = deadline.saturating_duration_since(Instant::now());
    wait_until_caught_up(
        &pipeline.database_url,
        &pipeline.kafka_brokers,
        &topic,
        &group,
        left,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}; moves: {moves:?}"));
    for instance in instances {
        instance.stop(true).await;
    }
    let processed_at = started.elapsed();
    assert_projection_matches(&pipeline.database_url, &users).await;
    eprintln!(
        "two-instance test: {total} samples of {} users; moves:\n  {}\n\
         seeding {:.1?}, processing {:.1?}, checking {:.1?}",
        users.len(),
        moves.join("\n  "),
        seeded_at,
        processed_at - seeded_at,
        started.elapsed() - processed_at,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_partition_moved_in_the_middle_of_a_batch_is_applied_once() {
    let mut rng = StdRng::seed_from_u64(3);
    let pipeline = Pipeline::without_processor().await;
    // 8 users x 2 days, heart rate every 10 minutes, synced 50 samples at a time: a backlog
    // of a few hundred messages spread over every partition.
    let specs: Vec<UserSpec> = (0..8)
        .map(|i| UserSpec {
            seed: 3_000 + i,
            timezone: chrono_tz::Europe::Berlin,
            first_day: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
            days: 2,
            heart_rate_every_minutes: 10,
        })
        .collect();
    let users = seed_users(&pipeline, &specs, 50, &mut rng).await;

    // The first instance collects one batch for 15 s (no size limit that the backlog
    // reaches), so the second one joins, and takes partitions away, while it is collecting.
    let mut config = pipeline.processor_config();
    config.batch_max_messages = 1_000_000;
    config.batch_max_wait = Duration::from_secs(15);
    let group = config.group_id.clone();
    let abandoned_before = abandoned_messages();
    let first = Instance::start(&config);
    wait_for_members(&pipeline.kafka_brokers, &group, 1).await;
    let second = Instance::start(&config);
    wait_for_members(&pipeline.kafka_brokers, &group, 2).await;
    let monitor = connect(&pipeline.database_url).await;
    let applied: i64 = monitor
        .query_one(
            "SELECT count(*) FROM consumer_offsets WHERE consumer_group = $1",
            &[&group],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        applied, 0,
        "the partitions moved only after a batch was applied: the test proves nothing"
    );

    pipeline.settle_aggregation().await;
    first.stop(true).await;
    second.stop(true).await;
    assert!(
        abandoned_messages() > abandoned_before,
        "the first instance left the moved partitions' messages to their new owner"
    );
    assert_projection_matches(&pipeline.database_url, &users).await;
    assert_samples_stored_once(&monitor, &users).await;
}

/// `healthpipe_processor_messages_total{outcome="abandoned"}` of this test process.
fn abandoned_messages() -> f64 {
    healthpipe_processors::metrics::render()
        .lines()
        .find(|l| l.starts_with("healthpipe_processor_messages_total{outcome=\"abandoned\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Waits until `group` is stable with `members` members, each with its partitions.
async fn wait_for_members(brokers: &str, group: &str, members: usize) {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let admin: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = admin
            .fetch_group_list(Some(group), Duration::from_secs(10))
            .unwrap();
        let stable = list.groups().iter().any(|g| {
            g.state() == "Stable"
                && g.members().len() == members
                && g.members()
                    .iter()
                    .all(|m| m.assignment().is_some_and(|a| !a.is_empty()))
        });
        if stable {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "group {group} never had {members} members"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replay_into_an_empty_database_gives_identical_tables() {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(3);
    let pipeline = Pipeline::without_processor().await;
    let specs: Vec<UserSpec> = [chrono_tz::Europe::Berlin, chrono_tz::America::Denver]
        .iter()
        .enumerate()
        .map(|(i, tz)| UserSpec {
            seed: 3_000 + i as u64,
            timezone: *tz,
            first_day: NaiveDate::from_ymd_opt(2026, 10, 20).unwrap(),
            days: 10,
            heart_rate_every_minutes: 3,
        })
        .collect();
    let mut users = seed_users(&pipeline, &specs, 1_000, &mut rng).await;
    let total: usize = users.iter().map(|u| u.samples.len()).sum();

    // The original projection, written by one processor with the default batches.
    let mut original = pipeline.processor_config();
    original.batch_max_messages = 500;
    let original_processor = Instance::start(&original);
    let caught_up = |what: &'static str| {
        let pipeline = &pipeline;
        let group = original.group_id.clone();
        async move {
            wait_until_caught_up(
                &pipeline.database_url,
                &pipeline.kafka_brokers,
                &pipeline.topics.user_events,
                &group,
                Duration::from_secs(90),
            )
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        }
    };
    caught_up("original run, samples").await;
    // Then the log gets more than samples: a priority change (re-ranks a device), a time-zone
    // change (re-buckets a user) and a re-sent chunk (ids seen before must not count twice).
    let first = &users[0];
    let response = pipeline
        .http
        .patch(pipeline.url(&format!("/api/v1/devices/{}", first.devices[1])))
        .bearer_auth(&first.token)
        .json(&json!({"priority": 120}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "priority change");
    let second = &users[1];
    let response = pipeline
        .http
        .patch(pipeline.url("/api/v1/me"))
        .bearer_auth(&second.token)
        .json(&json!({"timezone": "Asia/Kolkata"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "time-zone change");
    upload(&pipeline, vec![first.uploads[0].clone()]).await;
    // Versioned samples (HealthKit sync identifiers): version 2 replaces version 1, a later
    // re-send of version 1 under a new id is ignored.
    let watch = first.devices[0].clone();
    let now = Utc::now();
    let versioned = |version: u32, bpm: f64, rng: &mut StdRng| -> Vec<(Value, Sample)> {
        (0..3)
            .map(|k| {
                let id = uuid::Builder::from_random_bytes(rng.random()).into_uuid();
                let at = format!("2026-10-21T0{k}:30:00Z");
                let json = json!({"id": id.to_string(), "type": "HEART_RATE", "value": bpm + k as f64,
                    "unit": "count/min", "start_date": at, "end_date": at,
                    "metadata": {"sync_identifier": format!("hr-{k}"), "sync_version": version.to_string()}});
                let sample = domain_sample(&json, &id.to_string(), &watch, now);
                (json, sample)
            })
            .collect()
    };
    let v1 = versioned(1, 50.0, &mut rng);
    let v2 = versioned(2, 60.0, &mut rng);
    let v1_again = versioned(1, 70.0, &mut rng);
    for batch in [&v1, &v2, &v1_again] {
        upload(
            &pipeline,
            vec![Upload {
                device_id: watch.clone(),
                token: first.token.clone(),
                samples: batch.iter().map(|(j, _)| j.clone()).collect(),
            }],
        )
        .await;
    }
    // A deletion of 200 samples spread over the user's days, types and devices.
    let deleted: Vec<String> = first
        .samples
        .iter()
        .step_by(50)
        .take(200)
        .map(|s| s.id.clone())
        .collect();
    let response = pipeline
        .http
        .delete(pipeline.url("/api/v1/samples"))
        .bearer_auth(&first.token)
        .json(&json!({ "ids": deleted }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "deletion");
    caught_up("original run, changes").await;
    original_processor.stop(true).await;
    let phone = users[0].devices[1].clone();
    users[0].ranking.set_priority(phone, 120);
    users[0].samples.retain(|s| !deleted.contains(&s.id));
    users[0].samples.extend(v2.into_iter().map(|(_, s)| s));
    users[1].tz = chrono_tz::Asia::Kolkata;
    assert_projection_matches(&pipeline.database_url, &users).await;
    let applied_at = started.elapsed();

    // The replay: an empty database, a new group from offset 0, batches of 7 messages.
    let replay_db = scratch_database().await;
    healthpipe_storage::migrations::run(&replay_db)
        .await
        .expect("migrations apply");
    let mut replay = pipeline.processor_config();
    replay.database_url = replay_db.clone();
    // The key store is not a projection: the replay reads the live one.
    replay.key_store_url = Some(pipeline.database_url.clone());
    replay.group_id = unique("replay");
    replay.batch_max_messages = 7;
    let replay_processor = Instance::start(&replay);
    wait_until_caught_up(
        &replay_db,
        &pipeline.kafka_brokers,
        &pipeline.topics.user_events,
        &replay.group_id,
        Duration::from_secs(90),
    )
    .await
    .expect("replay caught up");
    replay_processor.stop(true).await;
    let replayed_at = started.elapsed();

    let a = connect(&pipeline.database_url).await;
    let b = connect(&replay_db).await;
    let differing = common::checksums::differences(
        (&a, "public"),
        (&b, "public"),
        &[
            "aggregates",
            "samples",
            "sample_index",
            "sync_versions",
            "device_rankings",
            "user_profiles",
        ],
    )
    .await;
    assert!(
        differing.is_empty(),
        "the replay differs:\n{}",
        differing.join("\n")
    );
    eprintln!(
        "replay test: {total} samples of {} users (+ priority change, zone change, re-sent chunk, sync versions, deletion); \
         original run {:.1?}, replay {:.1?}, total {:.1?}",
        users.len(),
        applied_at,
        replayed_at - applied_at,
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------
// Processors
// ---------------------------------------------------------------------------------------

struct ProcessEnv {
    database_url: String,
    group: String,
    batch_max_messages: usize,
}

/// The real binary as a child process; killed with SIGKILL when dropped.
struct ProcessorProcess {
    child: Child,
}

impl ProcessorProcess {
    fn spawn(pipeline: &Pipeline, env: &ProcessEnv) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_healthpipe"))
            .args(["process", "aggregation"])
            .env("DATABASE_URL", &env.database_url)
            .env("KAFKA_BROKERS", &pipeline.kafka_brokers)
            .env("SCHEMA_REGISTRY_URL", &pipeline.registry_url)
            .env("TOPIC_PREFIX", &pipeline.topic_prefix)
            .env("CONSUMER_GROUP", &env.group)
            .env("BATCH_MAX_MESSAGES", env.batch_max_messages.to_string())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the healthpipe binary");
        Self { child }
    }

    /// Fails the test if the processor exited on its own.
    fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().expect("child status") {
            panic!("the processor exited on its own: {status}");
        }
    }

    /// `kill -9`, then reaps the process.
    fn kill_9(&mut self) {
        let _ = self.child.kill(); // SIGKILL on Unix
        let _ = self.child.wait();
    }
}

impl Drop for ProcessorProcess {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// An in-process processor with its own shutdown.
struct Instance {
    token: CancellationToken,
    task: JoinHandle<()>,
}

impl Instance {
    fn start(config: &healthpipe_processors::ProcessorConfig) -> Self {
        let token = CancellationToken::new();
        let config = config.clone();
        let shutdown = token.clone();
        let task = tokio::spawn(async move {
            healthpipe_processors::run_aggregation(config, shutdown)
                .await
                .expect("aggregation processor failed");
        });
        Self { token, task }
    }

    /// Graceful: finishes the current batch and leaves the group. Otherwise the task is
    /// aborted wherever it is, like a crash (an open transaction rolls back).
    async fn stop(self, graceful: bool) {
        if graceful {
            self.token.cancel();
            tokio::time::timeout(Duration::from_secs(30), self.task)
                .await
                .expect("processor stops within 30 s")
                .expect("processor task");
        } else {
            if self.task.is_finished() {
                self.task.await.expect("processor task");
                return;
            }
            self.task.abort();
            let _ = self.task.await;
        }
    }
}
