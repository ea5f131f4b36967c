//! Scaling consumer groups, on the real stack with the real binary.
//!
//! - `migrate` creates the topics with `TOPIC_PARTITIONS` partitions (default 12) and keeps
//!   events for ever; it never adds partitions to an existing topic of another count, and
//!   says so, naming the topic and both counts; with `--check-topics`
//!   (`TOPICS_MANAGED_EXTERNALLY=true`) it creates nothing and fails listing every missing
//!   or undersized topic.
//! - One aggregation processor holds all 12 partitions of a backlog; a second and a third of
//!   the same group split them, and the lag (stored positions against the log's end, and
//!   the processors' own `healthpipe_processor_lag_messages`) drains to 0. One is killed
//!   with SIGKILL while more data arrives: the other two take its partitions and drain the
//!   lag again, and every user's samples and daily step totals are exactly what was written.
//!
//! Every wait polls with a deadline and says what it saw when it gives up.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use common::metrics::Scrape;
use common::seeded::connect;
use common::services::{run_healthpipe, Service};
use common::*;
use healthpipe::topics::TopicSettings;
use healthpipe_schemas::{DeviceRegistered, Sample, SamplesRecorded, Topics, UserRegistered};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------
// Topics
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn migrate_creates_the_topics_with_the_configured_partitions_kept_for_ever() {
    let database_url = scratch_database().await;
    let brokers = &stack().kafka_brokers;

    let default = unique("hp");
    let output = migrate(&database_url, &default, &[]);
    assert_succeeded("migrate", &output);
    let custom = unique("hp");
    let output = migrate(&database_url, &custom, &[("TOPIC_PARTITIONS", "5")]);
    assert_succeeded("migrate with TOPIC_PARTITIONS=5", &output);

    for (prefix, expected) in [(&default, 12), (&custom, 5)] {
        for topic in Topics::with_prefix(prefix).all() {
            assert_eq!(
                partition_count(brokers, topic),
                Some(expected),
                "partitions of {topic}"
            );
            assert_eq!(
                topic_config(brokers, topic, "retention.ms")
                    .await
                    .as_deref(),
                Some("-1"),
                "{topic} keeps its events for ever"
            );
        }
    }
    assert_eq!(
        TopicSettings::default().partitions,
        12,
        "the documented default"
    );
}

#[tokio::test]
async fn migrate_warns_about_a_topic_of_another_count_and_leaves_it_as_it_is() {
    let database_url = scratch_database().await;
    let brokers = &stack().kafka_brokers;
    let prefix = unique("hp");
    let topics = Topics::with_prefix(&prefix);
    create_topic(brokers, &topics.user_events, 3).await;

    for run in 1..=2 {
        let output = migrate(&database_url, &prefix, &[]);
        assert_succeeded("migrate over a topic of 3 partitions", &output);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let expected = format!(
            "warning: topic {} has 3 partitions, TOPIC_PARTITIONS is 12; not changed: adding \
             partitions moves users to other partitions and breaks the order of their events",
            topics.user_events
        );
        assert!(
            stdout.contains(&expected),
            "run {run}: no warning naming the topic and both counts in:\n{stdout}"
        );
        assert_eq!(
            stdout.matches("warning:").count(),
            1,
            "run {run}: only the differing topic is warned about:\n{stdout}"
        );
        assert_eq!(
            partition_count(brokers, &topics.user_events),
            Some(3),
            "run {run}: migrate changed the existing topic's partition count"
        );
    }
    for topic in [
        &topics.aggregates_updated,
        &topics.insights,
        &topics.dead_letter,
    ] {
        assert_eq!(partition_count(brokers, topic), Some(12), "{topic}");
    }
}

#[tokio::test]
async fn check_mode_creates_nothing_and_fails_listing_what_is_wrong() {
    let database_url = scratch_database().await;
    let brokers = &stack().kafka_brokers;
    let prefix = unique("hp");
    let topics = Topics::with_prefix(&prefix);
    let managed = [("TOPICS_MANAGED_EXTERNALLY", "true")];

    // Nothing there yet: every topic is named as missing, and none is made.
    let output = migrate(&database_url, &prefix, &managed);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "check passed without topics");
    for topic in topics.all() {
        assert!(
            stderr.contains(&format!("topic {topic} is missing")),
            "{topic} not listed as missing in:\n{stderr}"
        );
        assert_eq!(
            partition_count(brokers, topic),
            None,
            "check mode made {topic}"
        );
    }

    // The stream made too small by someone else, the rest as migrate makes them.
    create_topic(brokers, &topics.user_events, 6).await;
    assert_succeeded("migrate", &migrate(&database_url, &prefix, &[]));
    let output = migrate(&database_url, &prefix, &managed);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "check passed with 6 of 12 partitions"
    );
    assert!(
        stderr.contains(&format!(
            "topic {} has 6 partitions, at least 12 expected",
            topics.user_events
        )),
        "the small topic is not listed in:\n{stderr}"
    );
    assert!(
        !stderr.contains(&topics.insights),
        "a correct topic is listed:\n{stderr}"
    );
    // The same flag on the command line; replication is checked too.
    let output = migrate(
        &database_url,
        &prefix,
        &[("TOPIC_PARTITIONS", "6"), ("TOPIC_REPLICATION", "3")],
    );
    assert_succeeded("migrate (creating nothing new)", &output);
    let output = run_healthpipe(
        &["migrate", "--check-topics"],
        &migrate_env(&database_url, &prefix, &[("TOPIC_REPLICATION", "3")]),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "check passed with 1 replica of 3");
    assert!(
        stderr.contains(&format!(
            "topic {} has replication factor 1, at least 3 expected",
            topics.dead_letter
        )),
        "the replication shortfall is not listed in:\n{stderr}"
    );

    // At least the expected partitions (more is fine) and replicas: it passes.
    let output = migrate(
        &database_url,
        &prefix,
        &[
            ("TOPICS_MANAGED_EXTERNALLY", "true"),
            ("TOPIC_PARTITIONS", "6"),
        ],
    );
    assert_succeeded("check of topics as expected", &output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!(
            "topic {} as expected: 12 partitions",
            topics.insights
        )),
        "{stdout}"
    );
    assert_eq!(partition_count(brokers, &topics.user_events), Some(6));
}

fn migrate_env<'a>(
    database_url: &'a str,
    prefix: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("DATABASE_URL", database_url),
        ("KAFKA_BROKERS", stack().kafka_brokers.as_str()),
        ("TOPIC_PREFIX", prefix),
        ("RUST_LOG", "warn"),
    ];
    env.extend_from_slice(extra);
    env
}

/// `healthpipe migrate` for `prefix` with `extra` settings.
fn migrate(database_url: &str, prefix: &str, extra: &[(&str, &str)]) -> Output {
    run_healthpipe(&["migrate"], &migrate_env(database_url, prefix, extra))
}

fn assert_succeeded(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The partition count of `topic` as the broker's metadata tells it; `None` if missing.
fn partition_count(brokers: &str, topic: &str) -> Option<usize> {
    let client: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("metadata client");
    let metadata = client
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("metadata of {topic}: {e}"));
    let found = metadata.topics().iter().find(|t| t.name() == topic)?;
    (found.error().is_none() && !found.partitions().is_empty()).then(|| found.partitions().len())
}

/// One config of `topic` as the broker describes it.
async fn topic_config(brokers: &str, topic: &str, key: &str) -> Option<String> {
    let admin: AdminClient<DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("admin client");
    let described = admin
        .describe_configs(&[ResourceSpecifier::Topic(topic)], &AdminOptions::new())
        .await
        .unwrap_or_else(|e| panic!("describe {topic}: {e}"));
    let resource = described
        .into_iter()
        .next()
        .expect("one resource described")
        .unwrap_or_else(|e| panic!("describe {topic}: {e}"));
    resource.get(key).and_then(|entry| entry.value.clone())
}

/// Makes `topic` with `partitions`, as another tool (or an older release) would have.
async fn create_topic(brokers: &str, topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("admin client");
    let results = admin
        .create_topics(
            &[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
        )
        .await
        .expect("create topics");
    for result in results {
        result.unwrap_or_else(|(name, e)| panic!("create {name}: {e}"));
    }
}

// ---------------------------------------------------------------------------------------
// A consumer group growing to three instances, then losing one
// ---------------------------------------------------------------------------------------

/// Users of the backlog: enough that (almost) every partition has some.
const USERS: usize = 48;
/// `SamplesRecorded` per user before any processor runs, and after the split.
const BEFORE: usize = 10;
const AFTER: usize = 4;
const SAMPLES_PER_EVENT: usize = 50;
/// Small batches: the backlog takes long enough that the group grows while it is applied.
const BATCH_ENV: [(&str, &str); 2] = [("BATCH_MAX_MESSAGES", "2"), ("BATCH_MAX_WAIT_MS", "0")];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn processors_of_one_group_split_the_partitions_drain_the_lag_and_take_over_from_a_killed_one(
) {
    let started = *STARTED.get_or_init(Instant::now);
    let pipeline = Pipeline::without_services(&stack().kafka_brokers).await;
    let topic = pipeline.topics.user_events.clone();
    let partitions = TopicSettings::default().partitions;
    assert_eq!(
        partition_count(&pipeline.kafka_brokers, &topic),
        Some(partitions as usize),
        "the fixture's topics have the default partition count"
    );
    let all: BTreeSet<i32> = (0..partitions).collect();
    let logs = std::env::temp_dir().join(format!("hp-scaling-{}", pipeline.topic_prefix));
    std::fs::create_dir_all(&logs).expect("log folder");
    let http = reqwest::Client::new();

    // The backlog, before any processor runs.
    let mut fleet = Fleet::new(USERS);
    fleet.register(&pipeline).await;
    fleet.record(&pipeline, BEFORE).await;
    let group = pipeline.processor_config().group_id;
    let backlog = db_lag(&pipeline, &group).await;
    let with_data = partitions_with_data(&pipeline, &topic).await;
    assert!(
        backlog >= (USERS * (2 + BEFORE)) as i64,
        "backlog {backlog}"
    );
    assert!(
        with_data.len() >= 8,
        "the users landed on only {} partitions",
        with_data.len()
    );

    // One processor: it holds every partition and reports the backlog as lag.
    let mut processors = vec![start_processor(&pipeline, 1, &logs)];
    processors[0].wait_healthy(&http).await;
    let seen_lag = std::cell::Cell::new(0.0);
    until("processor 1 holds every partition", 30, &logs, || async {
        let m = processors[0].metrics(&http).await;
        seen_lag.set(f64::max(seen_lag.get(), lag_sum(&m)));
        let held = held(&m, &topic);
        (assigned(&m) == f64::from(partitions) && held == all)
            .then_some(())
            .ok_or(format!("assigned {}, lag series of {held:?}", assigned(&m)))
    })
    .await;
    let lag_alone = lag_sum(&processors[0].metrics(&http).await);
    assert!(
        f64::max(seen_lag.get(), lag_alone) > 0.0,
        "processor 1's lag gauge never showed the backlog ({backlog} messages)"
    );

    // A second and a third: the partitions split among the three.
    processors.push(start_processor(&pipeline, 2, &logs));
    processors.push(start_processor(&pipeline, 3, &logs));
    for p in &processors[1..] {
        p.wait_healthy(&http).await;
    }
    let split = wait_for_split(&processors, &http, &topic, &all, &logs).await;
    let behind_at_split = db_lag_by_partition(&pipeline, &group).await;
    let lag_at_split: i64 = behind_at_split.values().sum();
    wait_drained(&pipeline, &group, &processors, &http, &logs).await;
    let drained_at = started.elapsed();
    // The three shared the draining: each that was given a partition with messages left
    // applied some of them.
    for (p, partitions) in processors.iter().zip(&split) {
        let left: i64 = partitions
            .iter()
            .filter_map(|q| behind_at_split.get(q))
            .sum();
        let applied = applied(&p.metrics(&http).await);
        assert!(
            left == 0 || applied > 0.0,
            "{} got partitions {partitions:?} with {left} messages left and applied none",
            p.name
        );
    }

    // More data; one instance is killed (SIGKILL: it leaves no group, its session times
    // out) while it arrives. The other two take its partitions and drain the lag again.
    fleet.record(&pipeline, AFTER / 2).await;
    let mut victim = processors.remove(1);
    let victim_held = held(&victim.metrics(&http).await, &topic);
    assert!(!victim_held.is_empty(), "the victim held no partition");
    victim.kill();
    fleet.record(&pipeline, AFTER - AFTER / 2).await;
    assert!(
        db_lag(&pipeline, &group).await > 0,
        "nothing left to take over"
    );
    let takeover = wait_for_split(&processors, &http, &topic, &all, &logs).await;
    wait_drained(&pipeline, &group, &processors, &http, &logs).await;
    for p in &mut processors {
        assert!(
            p.exited().is_none(),
            "{} exited; see {}",
            p.name,
            logs.display()
        );
    }

    // Exactly right: every sample once, every daily total what was written.
    fleet.assert_projection(&pipeline).await;
    eprintln!(
        "scaling: {} messages of {USERS} users on {} of {partitions} partitions; \
         alone: lag {lag_alone}; three: {split:?} (lag then {lag_at_split}); drained at \
         {drained_at:.1?}; processor 2 held {victim_held:?}, killed; two: {takeover:?}; \
         total {:.1?}",
        fleet.messages,
        with_data.len(),
        started.elapsed()
    );
    let _ = std::fs::remove_dir_all(&logs);
}

fn start_processor(pipeline: &Pipeline, n: usize, logs: &Path) -> Service {
    Service::processor_with(pipeline, "aggregation", n, logs, 30, &BATCH_ENV)
}

/// Waits until `processors` share every partition, each holding some and none the same
/// one (by their assignment gauge and their lag series); returns each one's partitions.
async fn wait_for_split(
    processors: &[Service],
    http: &reqwest::Client,
    topic: &str,
    all: &BTreeSet<i32>,
    logs: &Path,
) -> Vec<BTreeSet<i32>> {
    until(
        &format!("{} processors split the partitions", processors.len()),
        45,
        logs,
        || async {
            let mut held_by = Vec::new();
            let mut assigned_by = Vec::new();
            for p in processors {
                let m = p.metrics(http).await;
                held_by.push(held(&m, topic));
                assigned_by.push(assigned(&m));
            }
            let union: BTreeSet<i32> = held_by.iter().flatten().copied().collect();
            let disjoint = held_by.iter().map(BTreeSet::len).sum::<usize>() == union.len();
            let each_some = held_by.iter().all(|h| !h.is_empty());
            let counts_agree = held_by
                .iter()
                .zip(&assigned_by)
                .all(|(h, a)| h.len() as f64 == *a);
            if &union == all && disjoint && each_some && counts_agree {
                Ok(held_by)
            } else {
                Err(format!("assigned {assigned_by:?}, lag series {held_by:?}"))
            }
        },
    )
    .await
}

/// Waits until the group has applied everything (stored positions at every partition's
/// end) and the processors' lag gauges say 0 too.
async fn wait_drained(
    pipeline: &Pipeline,
    group: &str,
    processors: &[Service],
    http: &reqwest::Client,
    logs: &Path,
) {
    until("the lag drains to 0", 60, logs, || async move {
        let rows = healthpipe::progress::lag_by_partition(
            &pipeline.database_url,
            &pipeline.kafka_brokers,
            Some(group),
        )
        .await
        .map_err(|e| format!("lag: {e}"))?;
        let behind: BTreeMap<i32, i64> = rows
            .iter()
            .filter(|r| r.topic == pipeline.topics.user_events && r.lag() > 0)
            .map(|r| (r.partition, r.lag()))
            .collect();
        let mut gauges = Vec::new();
        for p in processors {
            gauges.push(lag_sum(&p.metrics(http).await));
        }
        (!rows.is_empty() && behind.is_empty() && gauges.iter().all(|g| *g == 0.0))
            .then_some(())
            .ok_or(format!(
                "stored positions behind {behind:?}, lag gauges {gauges:?}"
            ))
    })
    .await;
}

/// The whole scaling test's time, whatever each wait allows.
const TEST_BUDGET: Duration = Duration::from_secs(90);

/// When the scaling test started (set once, at its start).
static STARTED: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// Polls `check` every 200 ms until it is `Ok`; after `secs`, or once the test's budget is
/// spent, panics with its last answer.
async fn until<T, F, Fut>(what: &str, secs: u64, logs: &Path, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let own = Instant::now() + Duration::from_secs(secs);
    let deadline = STARTED.get().map_or(own, |s| own.min(*s + TEST_BUDGET));
    loop {
        let last = match check().await {
            Ok(value) => return value,
            Err(last) => last,
        };
        assert!(
            Instant::now() < deadline,
            "{what}: not within {secs} s (or the test's {TEST_BUDGET:?}); last seen: {last}; \
             logs in {}",
            logs.display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Messages of the user-event topic the group has not applied (stored positions).
async fn db_lag(pipeline: &Pipeline, group: &str) -> i64 {
    healthpipe::progress::lag(
        &pipeline.database_url,
        &pipeline.kafka_brokers,
        &pipeline.topics.user_events,
        group,
    )
    .await
    .expect("lag")
}

/// Per partition of the user-event topic, the messages the group has not applied.
async fn db_lag_by_partition(pipeline: &Pipeline, group: &str) -> BTreeMap<i32, i64> {
    let ends =
        healthpipe::progress::log_ends(&pipeline.kafka_brokers, &pipeline.topics.user_events)
            .await
            .expect("log ends");
    let mut behind = BTreeMap::new();
    for (partition, end) in ends {
        let one = healthpipe::progress::behind(
            &pipeline.database_url,
            &pipeline.topics.user_events,
            group,
            &[(partition, end)],
        )
        .await
        .expect("stored positions");
        behind.insert(partition, one);
    }
    behind
}

async fn partitions_with_data(pipeline: &Pipeline, topic: &str) -> Vec<i32> {
    healthpipe::progress::log_ends(&pipeline.kafka_brokers, topic)
        .await
        .expect("log ends")
        .into_iter()
        .filter(|(_, end)| *end > 0)
        .map(|(p, _)| p)
        .collect()
}

fn assigned(m: &Scrape) -> f64 {
    m.sum("healthpipe_processor_partitions_assigned")
        .unwrap_or(-1.0)
}

fn applied(m: &Scrape) -> f64 {
    m.series("healthpipe_processor_messages_total")
        .filter(|s| s.labels.get("outcome").map(String::as_str) == Some("applied"))
        .map(|s| s.value)
        .sum()
}

fn lag_sum(m: &Scrape) -> f64 {
    m.sum("healthpipe_processor_lag_messages").unwrap_or(0.0)
}

/// The partitions of `topic` a processor reports a lag for: the ones it holds.
fn held(m: &Scrape, topic: &str) -> BTreeSet<i32> {
    m.series("healthpipe_processor_lag_messages")
        .filter(|s| s.labels.get("topic").map(String::as_str) == Some(topic))
        .filter_map(|s| s.labels.get("partition")?.parse().ok())
        .collect()
}

/// The users of the test, each in UTC with one device, and every sample written to them.
struct Fleet {
    users: Vec<(Uuid, Uuid)>,
    written: Vec<SamplesRecorded>,
    messages: usize,
}

impl Fleet {
    fn new(users: usize) -> Fleet {
        Fleet {
            users: (0..users)
                .map(|_| (Uuid::new_v4(), Uuid::new_v4()))
                .collect(),
            written: Vec::new(),
            messages: 0,
        }
    }

    fn first_day() -> DateTime<Utc> {
        Utc.from_utc_datetime(
            &NaiveDate::from_ymd_opt(2026, 11, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
        )
    }

    async fn register(&mut self, pipeline: &Pipeline) {
        let at = Self::first_day().timestamp_micros();
        let users: Vec<UserRegistered> = self
            .users
            .iter()
            .map(|(user, _)| UserRegistered {
                event_id: Uuid::new_v4().to_string(),
                user_id: user.to_string(),
                timezone: "UTC".into(),
                registered_at: at,
            })
            .collect();
        let devices: Vec<DeviceRegistered> = self
            .users
            .iter()
            .map(|(user, device)| DeviceRegistered {
                event_id: Uuid::new_v4().to_string(),
                user_id: user.to_string(),
                device_id: device.to_string(),
                device_type: "iphone".into(),
                priority: 1,
                type_priorities: Default::default(),
                registered_at: at,
            })
            .collect();
        let topic = &pipeline.topics.user_events;
        pipeline.append_all(topic, &users, Utc::now()).await;
        pipeline.append_all(topic, &devices, Utc::now()).await;
        self.messages += users.len() + devices.len();
    }

    /// `events` more syncs of every user: one-minute step samples, each on a minute of its
    /// own (one device, nothing overlaps, so nothing is deduplicated away).
    async fn record(&mut self, pipeline: &Pipeline, events: usize) {
        let mut batch = Vec::new();
        for (u, (user, device)) in self.users.iter().enumerate() {
            let done = self
                .written
                .iter()
                .filter(|e| e.user_id == user.to_string())
                .count();
            for k in done..done + events {
                let samples = (0..SAMPLES_PER_EVENT)
                    .map(|j| {
                        let minute = (k * SAMPLES_PER_EVENT + j) as i64 * 7;
                        let start = Self::first_day() + chrono::Duration::minutes(minute);
                        Sample {
                            sample_id: Uuid::new_v4().to_string(),
                            sample_type: "STEPS".into(),
                            value: (10 + (u * 31 + k * 7 + j * 3) % 90) as f64,
                            unit: "count".into(),
                            start_time: start.timestamp_micros(),
                            end_time: (start + chrono::Duration::minutes(1)).timestamp_micros(),
                            utc_offset_seconds: 0,
                            source_app: None,
                            sync_identifier: None,
                            sync_version: None,
                            metadata: Default::default(),
                        }
                    })
                    .collect();
                batch.push(SamplesRecorded {
                    event_id: Uuid::new_v4().to_string(),
                    user_id: user.to_string(),
                    device_id: device.to_string(),
                    recorded_at: Utc::now().timestamp_micros(),
                    samples,
                });
            }
        }
        pipeline
            .append_all(&pipeline.topics.user_events, &batch, Utc::now())
            .await;
        self.messages += batch.len();
        self.written.extend(batch);
    }

    /// Each user's samples stored once each, and their daily step totals and counts equal
    /// to the sums of what was written (the users are in UTC: days are UTC days).
    async fn assert_projection(&self, pipeline: &Pipeline) {
        let mut expected: BTreeMap<(String, NaiveDate), (f64, i64)> = BTreeMap::new();
        let mut per_user: BTreeMap<String, i64> = BTreeMap::new();
        for event in &self.written {
            for s in &event.samples {
                let day = DateTime::from_timestamp_micros(s.start_time)
                    .unwrap()
                    .date_naive();
                let slot = expected.entry((event.user_id.clone(), day)).or_default();
                slot.0 += s.value;
                slot.1 += 1;
                *per_user.entry(event.user_id.clone()).or_default() += 1;
            }
        }
        let db = connect(&pipeline.database_url).await;
        let stored: BTreeMap<String, i64> = db
            .query(
                "SELECT user_id::text, count(DISTINCT sample_id) FROM samples GROUP BY user_id",
                &[],
            )
            .await
            .expect("sample counts")
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let rows: i64 = db
            .query_one("SELECT count(*) FROM samples", &[])
            .await
            .expect("sample rows")
            .get(0);
        assert_eq!(stored, per_user, "samples per user");
        assert_eq!(
            rows,
            per_user.values().sum::<i64>(),
            "a sample stored twice"
        );
        let actual: BTreeMap<(String, NaiveDate), (f64, i64)> = db
            .query(
                "SELECT user_id::text, (period_start AT TIME ZONE 'UTC')::date, value, \
                 sample_count::bigint FROM aggregates \
                 WHERE sample_type = 'STEPS' AND period = 'day'",
                &[],
            )
            .await
            .expect("daily aggregates")
            .iter()
            .map(|r| ((r.get(0), r.get(1)), (r.get(2), r.get(3))))
            .collect();
        let differing: Vec<String> = expected
            .iter()
            .filter(|(key, want)| actual.get(*key) != Some(want))
            .map(|(key, want)| format!("{key:?}: wrote {want:?}, stored {:?}", actual.get(key)))
            .chain(
                actual
                    .keys()
                    .filter(|key| !expected.contains_key(*key))
                    .map(|key| format!("{key:?}: stored, never written")),
            )
            .collect();
        assert!(
            differing.is_empty(),
            "{} of {} daily totals differ:\n{}",
            differing.len(),
            expected.len(),
            differing.join("\n")
        );
    }
}
