//! The processor runtime's failure classes on the real stack: a message that does not
//! convert, or holds a value the database rejects, is dead-lettered with its reason while the
//! rest of its batch and partition is applied; a
//! constraint violation stops its partition visibly (metric, readiness) without losing or
//! dead-lettering the message; once the cause is fixed a restart goes on from there;
//! `redrive` puts dead letters back on their topic; and every assignment starts at the
//! offsets stored in the database, not at Kafka's.

mod common;

use std::time::Duration;

use common::{unique, Pipeline, Session};
use healthpipe_schemas::{Sample, SamplesRecorded};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

fn steps(value: u32, hour: u32) -> Value {
    json!({"samples": [{"type": "STEPS", "value": value, "unit": "count",
        "start_date": format!("2026-05-04T{hour:02}:00:00Z"),
        "end_date": format!("2026-05-04T{hour:02}:30:00Z")}]})
}

async fn sync(user: &Session, device: &str, body: Value) {
    let response = user
        .post(&format!("/api/v1/devices/{device}/sync"), body)
        .await;
    assert_eq!(response.status(), 200);
}

fn day_total(user: &Session) -> String {
    format!(
        "SELECT value FROM aggregates WHERE user_id = '{}' AND period = 'day'",
        user.user_id
    )
}

/// Every message on `topic` now (all partitions), with its `healthpipe.error` header.
async fn read_all(brokers: &str, topic: &str) -> Vec<(Vec<u8>, String)> {
    let count = end_offsets(brokers, topic).iter().sum::<i64>() as usize;
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", unique("reader"))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let mut out = Vec::new();
    while out.len() < count {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .expect("messages arrive")
            .unwrap();
        let reason = message
            .headers()
            .and_then(|h| h.iter().find(|h| h.key == "healthpipe.error"))
            .and_then(|h| h.value)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default();
        out.push((message.payload().unwrap_or_default().to_vec(), reason));
    }
    out
}

fn end_offsets(brokers: &str, topic: &str) -> Vec<i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap();
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    metadata.topics()[0]
        .partitions()
        .iter()
        .map(|p| {
            consumer
                .fetch_watermarks(topic, p.id(), Duration::from_secs(10))
                .unwrap()
                .1
        })
        .collect()
}

fn metric(name: &str) -> f64 {
    healthpipe_processors::metrics::render()
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unconvertible_or_rejected_messages_are_dead_lettered_and_the_rest_is_applied() {
    let pipeline = Pipeline::without_processor().await;
    let user = pipeline.new_user("UTC").await;
    let phone = user.device("iphone", "phone").await;
    sync(&user, &phone, steps(100, 8)).await;

    // A producer of the log wrote a text PostgreSQL cannot store (a NUL byte in a sync
    // identifier, a clear text column): valid Avro, valid event, rejected by the database
    // with SQLSTATE 22021 (class 22, data). (Source app and metadata are stored sealed, as
    // bytes: a NUL there is stored like any other character.)
    let at = chrono::Utc::now();
    let start = chrono::DateTime::parse_from_rfc3339("2026-05-04T10:00:00Z").unwrap();
    let bad = SamplesRecorded {
        event_id: uuid::Uuid::new_v4().to_string(),
        user_id: user.user_id.clone(),
        device_id: phone.clone(),
        recorded_at: at.timestamp_micros(),
        samples: vec![Sample {
            sample_id: uuid::Uuid::new_v4().to_string(),
            sample_type: "STEPS".into(),
            value: 7.0,
            unit: "count".into(),
            start_time: start.timestamp_micros(),
            end_time: start.timestamp_micros() + 60_000_000,
            utc_offset_seconds: 0,
            source_app: None,
            sync_identifier: Some("pedometer\u{0}".into()),
            sync_version: Some(1),
            metadata: Default::default(),
        }],
    };
    pipeline
        .append(&pipeline.topics.user_events, &user.user_id, &bad, at)
        .await;
    // And one that decodes but does not convert: its user id is no id.
    let mut unconvertible = bad.clone();
    unconvertible.user_id = "not-a-user-id".into();
    unconvertible.samples[0].sync_identifier = None;
    unconvertible.samples[0].sync_version = None;
    pipeline
        .append(
            &pipeline.topics.user_events,
            &user.user_id,
            &unconvertible,
            at,
        )
        .await;
    sync(&user, &phone, steps(50, 9)).await;

    // One processor, one batch holding all three: the batch fails, is split, and only the
    // bad message is set aside.
    let splits_before = metric("healthpipe_processor_batches_split_total");
    pipeline.start_processor();
    pipeline.wait_for_sql(&day_total(&user), "150").await;

    let mut dead = read_all(&pipeline.kafka_brokers, &pipeline.topics.dead_letter).await;
    assert_eq!(
        dead.len(),
        2,
        "exactly the two bad messages are dead-lettered"
    );
    dead.sort_by(|a, b| a.1.cmp(&b.1));
    let reasons: Vec<&str> = dead.iter().map(|(_, r)| r.as_str()).collect();
    assert!(reasons[0].contains("user_id"), "{reasons:?}");
    assert!(
        reasons[1].contains("22021"),
        "the reason names the SQLSTATE: {reasons:?}"
    );
    assert!(
        reasons.iter().all(|r| !r.contains("pedometer")),
        "the reasons carry no value of the message: {reasons:?}"
    );
    assert!(metric("healthpipe_processor_batches_split_total") > splits_before);
    // The partition moved past it: nothing is left to apply.
    pipeline.settle_aggregation().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_constraint_violation_stops_its_partition_without_losing_the_message() {
    let pipeline = Pipeline::without_processor().await;
    // A constraint the processor does not know about stands for a bug: it rejects one
    // value that validation accepts.
    let db = common::seeded::connect(&pipeline.database_url).await;
    db.batch_execute("ALTER TABLE samples ADD CONSTRAINT no_4242 CHECK (value <> 4242)")
        .await
        .unwrap();
    let user = pipeline.new_user("UTC").await;
    let phone = user.device("iphone", "phone").await;
    sync(&user, &phone, steps(100, 8)).await;
    sync(&user, &phone, steps(4242, 9)).await;
    sync(&user, &phone, steps(50, 10)).await;

    let metrics_addr = free_port();
    let mut config = pipeline.processor_config();
    config.metrics_addr = Some(metrics_addr);
    let token = CancellationToken::new();
    let processor = tokio::spawn(healthpipe_processors::run_aggregation(
        config,
        token.clone(),
    ));

    // Readiness fails, naming the partition and the offset it stopped at.
    let readyz = format!("http://{metrics_addr}/readyz");
    let stopped = wait_for(|| async {
        let response = reqwest::get(&readyz).await.ok()?;
        (response.status() == 503).then_some(())?;
        response.json::<Value>().await.ok()
    })
    .await;
    let partitions = stopped["stopped_partitions"].as_array().unwrap();
    assert_eq!(partitions.len(), 1, "{stopped}");
    let (partition, offset) = (
        partitions[0]["partition"].as_i64().unwrap(),
        partitions[0]["offset"].as_i64().unwrap(),
    );
    assert!(partitions[0]["reason"]
        .as_str()
        .unwrap()
        .contains("no_4242"));
    assert!(metric("healthpipe_processor_partitions_stopped") >= 1.0);

    // Everything before it is applied, nothing from it on; the stored position is the
    // message itself; nothing was dead-lettered.
    pipeline.wait_for_sql(&day_total(&user), "100").await;
    pipeline
        .wait_for_sql(
            &format!(
                "SELECT next_offset FROM consumer_offsets WHERE topic = '{}' AND partition = {partition}",
                pipeline.topics.user_events
            ),
            &offset.to_string(),
        )
        .await;
    assert_eq!(
        end_offsets(&pipeline.kafka_brokers, &pipeline.topics.dead_letter)
            .iter()
            .sum::<i64>(),
        0
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    pipeline.wait_for_sql(&day_total(&user), "100").await;

    // The cause fixed, a restarted processor goes on from the stopped message.
    token.cancel();
    processor.await.unwrap().unwrap();
    db.batch_execute("ALTER TABLE samples DROP CONSTRAINT no_4242")
        .await
        .unwrap();
    pipeline.start_processor();
    pipeline.wait_for_sql(&day_total(&user), "4392").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redrive_puts_dead_letters_back_once() {
    let pipeline = Pipeline::without_processor().await;
    let user = pipeline.new_user("UTC").await;
    let phone = user.device("iphone", "phone").await;
    sync(&user, &phone, steps(100, 8)).await;
    let db = common::seeded::connect(&pipeline.database_url).await;
    // The database rejects one value as data (class 22) until the "fix" below.
    db.batch_execute(
        "CREATE FUNCTION reject_4242() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
           IF NEW.value = 4242 THEN RAISE EXCEPTION 'rejected' USING ERRCODE = '22003'; END IF; \
           RETURN NEW; END $$; \
         CREATE TRIGGER reject_4242 BEFORE INSERT ON samples FOR EACH ROW EXECUTE FUNCTION reject_4242();",
    )
    .await
    .unwrap();
    sync(&user, &phone, steps(4242, 9)).await;
    sync(&user, &phone, steps(50, 10)).await;
    pipeline.start_processor();
    pipeline.wait_for_sql(&day_total(&user), "150").await;
    pipeline.settle_aggregation().await;
    let dead = read_all(&pipeline.kafka_brokers, &pipeline.topics.dead_letter).await;
    assert_eq!(dead.len(), 1);
    assert!(dead[0].1.contains("22003"), "{}", dead[0].1);

    // A dry run changes nothing.
    let brokers = &pipeline.kafka_brokers;
    let dry = healthpipe_processors::runtime::dead_letter::redrive(brokers, &pipeline.topics, true)
        .await
        .unwrap();
    assert_eq!(dry.by_topic.get(&pipeline.topics.user_events), Some(&1));
    pipeline.wait_for_sql(&day_total(&user), "150").await;

    // Fixed: the redriven message is applied; a second redrive finds nothing new.
    db.batch_execute("DROP TRIGGER reject_4242 ON samples")
        .await
        .unwrap();
    let done =
        healthpipe_processors::runtime::dead_letter::redrive(brokers, &pipeline.topics, false)
            .await
            .unwrap();
    assert_eq!(done.by_topic.get(&pipeline.topics.user_events), Some(&1));
    pipeline.wait_for_sql(&day_total(&user), "4392").await;
    let again =
        healthpipe_processors::runtime::dead_letter::redrive(brokers, &pipeline.topics, false)
            .await
            .unwrap();
    assert!(again.by_topic.is_empty(), "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_assignment_starts_at_the_offsets_stored_in_the_database() {
    let pipeline = Pipeline::without_processor().await;
    let user = pipeline.new_user("UTC").await;
    let phone = user.device("iphone", "phone").await;
    sync(&user, &phone, steps(100, 8)).await;
    sync(&user, &phone, steps(50, 9)).await;
    pipeline.start_processor();
    pipeline.wait_for_sql(&day_total(&user), "150").await;
    pipeline.settle_aggregation().await;

    // The database is restored from a backup taken before any of this was applied (here:
    // its projections emptied) while the group runs on, so Kafka's committed offsets are
    // now ahead of the stored ones.
    let db = common::seeded::connect(&pipeline.database_url).await;
    db.batch_execute(
        "TRUNCATE samples, sample_index, sync_versions, aggregates, user_profiles, \
         device_rankings, consumer_offsets",
    )
    .await
    .unwrap();

    // A second instance joins: the rebalance hands every partition out again, and each
    // starts where the database says, so the log is applied again from the start.
    pipeline.start_processor();
    pipeline.wait_for_sql(&day_total(&user), "150").await;
}

fn free_port() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// Polls `probe` until it yields a value, or fails after 30 s.
async fn wait_for<T, F, Fut>(probe: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        if let Some(value) = probe().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("condition not met within 30 s");
}

/// A consumer that never gets into its group (here: no broker answers at all) is replaced
/// after the stall window, readiness fails meanwhile, and after three replacements in a row
/// that did not help the processor exits with an error instead of idling for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_consumer_out_of_its_group_is_replaced_and_then_the_processor_gives_up_loudly() {
    let pipeline = Pipeline::without_processor().await;
    let metrics_addr = free_port();
    let mut config = pipeline.processor_config();
    config.kafka_brokers = free_port().to_string();
    config.kafka_stall_timeout = Duration::from_secs(2);
    config.metrics_addr = Some(metrics_addr);
    let before = metric("healthpipe_kafka_client_replacements_total{client=\"consumer\"}");
    let processor = tokio::spawn(healthpipe_processors::run_aggregation(
        config,
        CancellationToken::new(),
    ));

    let readyz = format!("http://{metrics_addr}/readyz");
    let report = wait_for(|| async {
        let response = reqwest::get(&readyz).await.ok()?;
        (response.status() == 503).then_some(())?;
        response.json::<Value>().await.ok()
    })
    .await;
    assert_eq!(report["consumer_group"]["in_group"], false, "{report}");
    assert_eq!(report["stopped_partitions"], json!([]), "{report}");

    let ended = tokio::time::timeout(Duration::from_secs(60), processor)
        .await
        .expect("the processor gives up within a minute")
        .expect("processor task");
    let error = ended.expect_err("a processor that cannot get into its group exits with an error");
    assert!(
        error.to_string().contains("stayed out of its group"),
        "{error}"
    );
    let replaced =
        metric("healthpipe_kafka_client_replacements_total{client=\"consumer\"}") - before;
    assert!(replaced >= 3.0, "{replaced} replacements");
}

/// `healthpipe lag`: per group and partition, what the group has not applied yet, from its
/// positions in PostgreSQL against the log's ends; it drains when the processor runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lag_is_reported_per_group_and_partition_and_drains() {
    let pipeline = Pipeline::without_processor().await;
    let group = pipeline.processor_config().group_id;
    let lag = || async {
        healthpipe::progress::lag_by_partition(
            &pipeline.database_url,
            &pipeline.kafka_brokers,
            Some(&group),
        )
        .await
        .unwrap()
    };
    let user = pipeline.new_user("UTC").await;
    let phone = user.device("iphone", &unique("phone")).await;
    sync(&user, &phone, steps(100, 8)).await;
    let run = || {
        let token = CancellationToken::new();
        let running = tokio::spawn(healthpipe_processors::run_aggregation(
            pipeline.processor_config(),
            token.child_token(),
        ));
        (token, running)
    };
    let (stop, running) = run();
    pipeline.settle_aggregation().await;
    stop.cancel();
    running.await.unwrap().unwrap();
    let caught_up = lag().await;
    assert!(!caught_up.is_empty());
    assert!(caught_up.iter().all(|p| p.lag() == 0), "{caught_up:?}");

    // Two more syncs while no processor runs: two messages behind, in the user's partition.
    sync(&user, &phone, steps(50, 9)).await;
    sync(&user, &phone, steps(25, 10)).await;
    let behind: Vec<_> = lag().await.into_iter().filter(|p| p.lag() > 0).collect();
    assert_eq!(behind.len(), 1, "{behind:?}");
    assert_eq!(behind[0].lag(), 2);
    assert_eq!(behind[0].topic, pipeline.topics.user_events);

    let (stop, running) = run();
    pipeline.settle_aggregation().await;
    assert!(lag().await.iter().all(|p| p.lag() == 0));
    stop.cancel();
    running.await.unwrap().unwrap();
}
