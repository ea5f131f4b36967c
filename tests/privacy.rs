//! Privacy on the real stack: erasing an account by crypto-shredding, and rotating the
//! key-encryption key.
//!
//! - `DELETE /api/v1/me` needs the password; afterwards nothing of the user is in any table,
//!   the user's events in the log no longer open, a replay of the whole log into an empty
//!   database does not bring the user back, and every other user's rows are identical
//!   (checksums) before the erasure, after it, and in the replay.
//! - `healthpipe keys rotate` re-wraps every data key under a new key-encryption key without
//!   touching the log: services that know only the new key read everything.
//! - `healthpipe topic read` shows what any Kafka client sees; `--decrypt` opens the content
//!   only for a named operator, and the read is on record.

mod common;

use std::time::Duration;

use common::replay::Replay;
use common::seeded::connect;
use common::{scratch_database, unique, Pipeline, Session};
use healthpipe::progress::log_ends;
use healthpipe::topic::{read, TopicReadArgs};
use healthpipe_schemas::{Opened, Topics};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

/// Every table that holds rows of a user, with the columns compared (the projections, then
/// the gateway's own state and the key store).
const USER_TABLES: [(&str, &str); 17] = [
    (
        "samples",
        "user_id, sample_id, device_id, sample_type, value, start_time, end_time",
    ),
    ("sample_index", "user_id, sample_id, deleted"),
    ("sync_versions", "user_id, sync_identifier, version"),
    (
        "aggregates",
        "user_id, sample_type, period, period_start, value, sample_count",
    ),
    (
        "day_partials",
        "user_id, sample_type, day_start, sum, devices",
    ),
    ("device_rankings", "user_id, device_id, priority"),
    ("user_profiles", "user_id, timezone"),
    ("insight_users", "user_id"),
    ("insight_inputs", "user_id"),
    ("insights", "user_id, insight_type, status"),
    ("insight_acknowledgements", "user_id, insight_id"),
    ("users", "id AS user_id, email"),
    ("sessions", "user_id"),
    ("devices", "user_id, id"),
    ("idempotency_keys", "user_id"),
    ("event_outbox", "user_id"),
    ("user_keys", "user_id, kek_id"),
];

/// The tables a replay writes (the projections).
const PROJECTIONS: usize = 11;

/// (table, md5 of the sorted rows, rows) of `user`'s rows in each of `tables`.
async fn user_rows(url: &str, user: &str, tables: &[(&str, &str)]) -> Vec<(String, String, i64)> {
    let db = connect(url).await;
    let mut out = Vec::new();
    for (table, columns) in tables {
        let row = db
            .query_one(
                &format!(
                    "SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), ''), count(*) \
                     FROM (SELECT {columns} FROM {table}) t WHERE t.user_id::text = $1"
                ),
                &[&user],
            )
            .await
            .unwrap_or_else(|e| panic!("rows of {table}: {e}"));
        out.push((table.to_string(), row.get(0), row.get(1)));
    }
    out
}

async fn sync_steps(user: &Session, device: &str, day: u32, value: u32) {
    let response = user
        .post(
            &format!("/api/v1/devices/{device}/sync"),
            json!({"samples": [
                {"type": "STEPS", "value": value, "unit": "count",
                 "start_date": format!("2026-11-{day:02}T08:00:00Z"),
                 "end_date": format!("2026-11-{day:02}T08:30:00Z"),
                 "source_app": "com.example.private", "metadata": {"note": "erase me"}},
                {"type": "HEART_RATE", "value": 64, "unit": "count/min",
                 "start_date": format!("2026-11-{day:02}T09:00:00Z"),
                 "end_date": format!("2026-11-{day:02}T09:00:00Z"),
                 "metadata": {"sync_identifier": format!("hr-{day}"), "sync_version": "1"}},
            ]}),
        )
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

async fn erase(pipeline: &Pipeline, user: &Session, password: &str) -> reqwest::Response {
    pipeline
        .http
        .delete(pipeline.url("/api/v1/me"))
        .bearer_auth(&user.token)
        .json(&json!({ "password": password }))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_erased_user_is_gone_from_every_table_and_the_log_and_a_replay_does_not_bring_them_back()
{
    let pipeline = Pipeline::start().await;
    pipeline.start_insights_processor();
    let erased = pipeline.new_user("Europe/Berlin").await;
    let kept = pipeline.new_user("America/Denver").await;
    for user in [&erased, &kept] {
        let device = user.device("apple_watch", &unique("watch")).await;
        for day in 1..=3 {
            sync_steps(user, &device, day, 1_000 * day).await;
        }
        // An idempotency record too.
        let response = pipeline
            .http
            .post(pipeline.url(&format!("/api/v1/devices/{device}/sync")))
            .bearer_auth(&user.token)
            .header("Idempotency-Key", unique("key"))
            .json(
                &json!({"samples": [{"type": "STEPS", "value": 5, "unit": "count",
                "start_date": "2026-11-04T08:00:00Z", "end_date": "2026-11-04T08:01:00Z"}]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    pipeline.settle().await;
    let before_erased = user_rows(&pipeline.database_url, &erased.user_id, &USER_TABLES).await;
    for (table, _, rows) in &before_erased[..4] {
        assert!(
            *rows > 0,
            "{table} holds nothing of the user: nothing would be checked"
        );
    }
    let kept_before = user_rows(&pipeline.database_url, &kept.user_id, &USER_TABLES).await;
    // The reads, answered from then on from the session the gateway remembers.
    let reads = [
        "/api/v1/samples?type=STEPS&from=2026-11-01&to=2026-11-05",
        "/api/v1/aggregates?type=STEPS&period=day&from=2026-11-01&to=2026-11-05",
        "/api/v1/summary?date=2026-11-03",
        "/api/v1/insights",
    ];
    for path in reads {
        assert_eq!(erased.get(path).await.status(), 200, "{path}");
    }

    // A wrong password erases nothing.
    let response = erase(&pipeline, &erased, "not the password").await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        user_rows(&pipeline.database_url, &erased.user_id, &USER_TABLES).await,
        before_erased
    );

    let response = erase(&pipeline, &erased, "correct horse battery").await;
    assert_eq!(response.status(), 202);
    let receipt: Value = response.json().await.unwrap();
    assert_eq!(receipt["erased"], json!(erased.user_id));
    assert!(receipt["removed_shortly"][0]
        .as_str()
        .unwrap()
        .contains("samples"));
    // The session ended with the account: for the reads, which start from the session the
    // gateway remembers (asked first: a 401 elsewhere makes the gateway forget it), and for
    // the rest. No read makes the user a data key again.
    for path in reads {
        assert_eq!(erased.get(path).await.status(), 401, "{path}");
    }
    let keys = [("user_keys", "user_id")];
    let keys = user_rows(&pipeline.database_url, &erased.user_id, &keys).await;
    assert_eq!(
        keys,
        [("user_keys".into(), String::new(), 0)],
        "a read made a key"
    );
    assert_eq!(erased.get("/api/v1/me").await.status(), 401);

    // The processors apply the erasure: nothing of the user is left anywhere.
    pipeline.settle().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let left: Vec<_> = user_rows(&pipeline.database_url, &erased.user_id, &USER_TABLES)
            .await
            .into_iter()
            .filter(|(_, _, rows)| *rows > 0)
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "rows of the erased user left: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        user_rows(&pipeline.database_url, &kept.user_id, &USER_TABLES).await,
        kept_before,
        "the other user's rows changed"
    );

    // The user's events are still in the log, and no longer open.
    let ring = {
        let mut ring = healthpipe_crypto::Keyring::default();
        ring.insert(erased.user_id.clone(), None);
        ring
    };
    let codec = healthpipe_schemas::EventCodec::new(&pipeline.registry_url);
    let (mut sealed, mut erasures) = (0, 0);
    for payload in read_topic(&pipeline, &pipeline.topics.user_events, &erased.user_id).await {
        match codec.decode_user_event(&payload, &ring).await.unwrap() {
            Opened::Erased => sealed += 1,
            Opened::Event(healthpipe_schemas::UserEvent::UserErased(_)) => erasures += 1,
            Opened::Event(other) => panic!("an event of the erased user opened: {other:?}"),
        }
    }
    assert!(
        sealed >= 6,
        "only {sealed} sealed events of the user on the topic"
    );
    assert_eq!(erasures, 1);

    // A replay of the whole log into an empty database: the erased user never comes back,
    // the other user's projections are the same as live.
    let replay = Replay::start(&pipeline, &pipeline.topics, true).await;
    let replay_db = replay.database_url.clone();
    let projections = &USER_TABLES[..PROJECTIONS];
    let kept_live = user_rows(&pipeline.database_url, &kept.user_id, projections).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let replayed = user_rows(&replay_db, &kept.user_id, projections).await;
        if replayed == kept_live {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the replay of the other user differs:\n{replayed:?}\nlive:\n{kept_live:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let erased_replayed: Vec<_> = user_rows(&replay_db, &erased.user_id, projections)
        .await
        .into_iter()
        .filter(|(_, _, rows)| *rows > 0)
        .collect();
    assert!(
        erased_replayed.is_empty(),
        "the replay brought back {erased_replayed:?}"
    );
    replay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotating_the_key_encryption_key_keeps_everything_readable_without_touching_the_log() {
    let pipeline = Pipeline::without_processor().await;
    let user = pipeline.new_user("UTC").await;
    let device = user.device("iphone", &unique("phone")).await;
    sync_steps(&user, &device, 10, 4_321).await;

    // The operator lists a new key first and the old one second, rolls the services (here:
    // the processor starts with both), then rotates.
    let old = std::fs::read_to_string(
        pipeline
            .key_settings()
            .key_encryption_keys_file
            .expect("the stack's key file"),
    )
    .unwrap();
    let new_kek = healthpipe_crypto::LocalKeyProvider::new_entry("rotated-kek");
    let dir = std::env::temp_dir().join(unique("keks"));
    std::fs::create_dir_all(&dir).unwrap();
    let both = dir.join("both");
    std::fs::write(&both, format!("{new_kek}\n{old}")).unwrap();
    let both_keys = healthpipe_config::KeySettings {
        key_encryption_keys_file: Some(both.clone()),
        key_encryption_keys: None,
    };
    let live = healthpipe_processors::ProcessorConfig {
        keys: both_keys,
        ..pipeline.processor_config()
    };
    let token = CancellationToken::new();
    let live = tokio::spawn(healthpipe_processors::run_aggregation(
        live,
        token.child_token(),
    ));
    pipeline.settle_aggregation().await;
    let ends = || log_ends(&pipeline.kafka_brokers, &pipeline.topics.user_events);
    let ends_before = ends().await.unwrap();
    healthpipe::keys::rotate(healthpipe::keys::KeysArgs {
        database_url: pipeline.database_url.clone(),
        keys: healthpipe_config::KeySettings {
            key_encryption_keys_file: Some(both),
            key_encryption_keys: None,
        },
    })
    .await
    .expect("rotation");
    let db = connect(&pipeline.database_url).await;
    let keks: Vec<String> = db
        .query("SELECT DISTINCT kek_id FROM user_keys", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(keks, vec!["rotated-kek".to_string()]);
    assert_eq!(
        ends().await.unwrap(),
        ends_before,
        "rotation appended to the log"
    );

    // Services that know only the new key: a gateway seals new events, and a replay of the
    // whole log (sealed before and after the rotation) gives the same aggregates as live.
    let only_new = healthpipe_config::KeySettings {
        key_encryption_keys_file: None,
        key_encryption_keys: Some(new_kek),
    };
    let gateway = pipeline
        .start_gateway_with(healthpipe_gateway::GatewayConfig {
            keys: only_new.clone(),
            ..pipeline.gateway_config()
        })
        .await;
    let rotated = Session {
        base_url: gateway,
        ..user
    };
    sync_steps(&rotated, &device, 11, 1_234).await;
    pipeline.settle_aggregation().await;
    let query = format!(
        "SELECT string_agg(value::text, ',' ORDER BY period_start) FROM aggregates \
         WHERE user_id = '{}' AND period = 'day' AND sample_type = 'STEPS'",
        rotated.user_id
    );
    pipeline.wait_for_sql(&query, "4321,1234").await;

    let replay_db = scratch_database().await;
    healthpipe_storage::migrations::run(&replay_db)
        .await
        .unwrap();
    let config = healthpipe_processors::ProcessorConfig {
        database_url: replay_db.clone(),
        key_store_url: Some(pipeline.database_url.clone()),
        group_id: unique("replay"),
        announce_changes: false,
        keys: only_new,
        ..pipeline.processor_config()
    };
    let replay = tokio::spawn(healthpipe_processors::run_aggregation(
        config,
        token.child_token(),
    ));
    let replayed = connect(&replay_db).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let got: Option<String> = replayed.query_one(&query, &[]).await.unwrap().get(0);
        if got.as_deref() == Some("4321,1234") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the replay with only the new key gives {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    token.cancel();
    replay.await.unwrap().expect("replay processor");
    live.await.unwrap().expect("live processor");
}

/// The payloads of `user`'s messages on `topic`, from the beginning to the current end.
async fn read_topic(pipeline: &Pipeline, topic: &str, user: &str) -> Vec<Vec<u8>> {
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::Message;
    let ends = log_ends(&pipeline.kafka_brokers, topic).await.unwrap();
    let consumer: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &pipeline.kafka_brokers)
        .set("group.id", unique("read"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let total: i64 = ends.iter().map(|(_, end)| end).sum();
    let mut out = Vec::new();
    for _ in 0..total {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .expect("the topic's messages arrive")
            .unwrap();
        if message.key() == Some(user.as_bytes()) {
            out.push(message.payload().unwrap_or_default().to_vec());
        }
    }
    out
}

fn read_args(pipeline: &Pipeline, decrypt: bool, operator: Option<&str>) -> TopicReadArgs {
    TopicReadArgs {
        topic: pipeline.topics.user_events.clone(),
        from: "2000-01-01T00:00:00Z".parse().unwrap(),
        to: chrono::Utc::now() + chrono::Duration::hours(1),
        user: None,
        decrypt,
        operator: operator.map(str::to_string),
        event_log: pipeline.event_log_settings(),
        database_url: Some(pipeline.database_url.clone()),
        keys: pipeline.key_settings(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_operator_reads_a_topic_decrypted_only_on_record() {
    let pipeline = Pipeline::start().await;
    let user = pipeline.new_user("UTC").await;
    let device = user.device("iphone", &unique("phone")).await;
    sync_steps(&user, &device, 12, 777).await;

    // What anyone with a Kafka client sees: clear fields and the ciphertext's size.
    let mut plain = Vec::new();
    let printed = read(read_args(&pipeline, false, None), &mut plain)
        .await
        .unwrap();
    assert_eq!(printed, 3, "{}", String::from_utf8_lossy(&plain));
    let plain = String::from_utf8(plain).unwrap();
    assert!(plain.contains("sealed_bytes"), "{plain}");
    for secret in ["com.example.private", "erase me", "STEPS"] {
        assert!(!plain.contains(secret), "{secret} in clear: {plain}");
    }

    // Decrypting needs to say who reads.
    let refused = read(read_args(&pipeline, true, Some(" ")), &mut Vec::new()).await;
    assert!(
        refused.unwrap_err().to_string().contains("--operator"),
        "a decrypting read without an operator"
    );
    let db = connect(&pipeline.database_url).await;
    let reads_before: i64 = db
        .query_one("SELECT count(*) FROM topic_reads", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(reads_before, 0, "a refused read is not a read");

    let mut opened = Vec::new();
    let printed = read(read_args(&pipeline, true, Some("ops-alice")), &mut opened)
        .await
        .unwrap();
    let opened = String::from_utf8(opened).unwrap();
    assert_eq!(printed, 3, "{opened}");
    for content in ["com.example.private", "erase me", "STEPS", "777"] {
        assert!(opened.contains(content), "{content} not in {opened}");
    }
    let row = db
        .query_one(
            "SELECT operator, topic, messages, finished_at IS NOT NULL FROM topic_reads",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "ops-alice");
    assert_eq!(row.get::<_, String>(1), pipeline.topics.user_events);
    assert_eq!(row.get::<_, Option<i64>>(2), Some(3));
    assert!(row.get::<_, bool>(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_samples_free_text_is_stored_sealed_and_shown_to_its_owner() {
    let pipeline = Pipeline::start().await;
    let user = pipeline.new_user("UTC").await;
    let device = user.device("iphone", &unique("phone")).await;
    sync_steps(&user, &device, 14, 555).await;
    pipeline.settle_aggregation().await;

    let db = connect(&pipeline.database_url).await;
    let rows = db
        .query(
            "SELECT source_app, metadata::text, details FROM samples WHERE user_id::text = $1",
            &[&user.user_id],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row.get::<_, Option<String>>(0), None);
        assert_eq!(row.get::<_, String>(1), "{}");
        let sealed: Vec<u8> = row.get(2);
        for secret in [&b"com.example.private"[..], b"erase me", b"sync_identifier"] {
            assert!(!sealed.windows(secret.len()).any(|w| w == secret));
        }
    }
    // The owner sees them as sent.
    let page: Value = user
        .get("/api/v1/samples?type=STEPS&from=2026-11-14&to=2026-11-15")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        page["samples"][0]["source_app"], "com.example.private",
        "{page}"
    );
}

/// A log that held health data in clear before encryption: `healthpipe topic reencrypt`
/// copies the per-user stream to a new topic with every clear event sealed (keys made for
/// accounts older than encryption), leaves an erased user's events behind, resumes where it
/// stopped, refuses to switch under running processors, and `--switch` carries the
/// processor's positions over: it goes on where it stood, new syncs land once, and a replay
/// of the new topic gives the same tables.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_written_in_clear_are_sealed_into_a_new_topic_and_the_processors_follow() {
    use healthpipe::topic::{reencrypt, ReencryptArgs};
    use healthpipe_schemas::{DeviceRegistered, Sample, SamplesRecorded, UserRegistered, Written};

    let stack = common::stack();
    let mut pipeline = Pipeline::without_services(&stack.kafka_brokers).await;
    // The accounts, made through a gateway that writes elsewhere; two of them as old as the
    // log in clear (no data key).
    let elsewhere = Topics::with_prefix(&unique("elsewhere"));
    healthpipe::topics::ensure(&pipeline.kafka_brokers, &elsewhere, &Default::default())
        .await
        .unwrap();
    pipeline.base_url = pipeline
        .start_gateway_with(healthpipe_gateway::GatewayConfig {
            topics: elsewhere,
            ..pipeline.gateway_config()
        })
        .await;
    let (kept, erased, old) = (
        pipeline.new_user("UTC").await,
        pipeline.new_user("UTC").await,
        pipeline.new_user("UTC").await,
    );
    let mut devices = Vec::new();
    for user in [&kept, &erased, &old] {
        devices.push(user.device("iphone", &unique("phone")).await);
    }
    let db = connect(&pipeline.database_url).await;
    let without_key: Vec<uuid::Uuid> = [&erased, &old]
        .iter()
        .map(|u| u.user_id.parse().unwrap())
        .collect();
    db.execute(
        "DELETE FROM user_keys WHERE user_id = ANY($1)",
        &[&without_key],
    )
    .await
    .unwrap();

    // Their history in clear: registered, a device, steps on three days.
    let source = pipeline.topics.user_events.clone();
    let now = chrono::Utc::now();
    let micros = |day: u32| {
        chrono::DateTime::parse_from_rfc3339(&format!("2026-10-{day:02}T08:00:00Z"))
            .unwrap()
            .timestamp_micros()
    };
    let mut in_clear = 0;
    for (user, device) in [&kept, &erased, &old].into_iter().zip(&devices) {
        let registered = UserRegistered {
            event_id: uuid::Uuid::new_v4().to_string(),
            user_id: user.user_id.clone(),
            timezone: "UTC".into(),
            registered_at: micros(1),
        };
        pipeline.append_in_clear(&source, &registered, now).await;
        let device_registered = DeviceRegistered {
            event_id: uuid::Uuid::new_v4().to_string(),
            user_id: user.user_id.clone(),
            device_id: device.clone(),
            device_type: "iphone".into(),
            priority: 1,
            type_priorities: Default::default(),
            registered_at: micros(1),
        };
        pipeline
            .append_in_clear(&source, &device_registered, now)
            .await;
        in_clear += 2;
        for day in 1..=3 {
            let steps = SamplesRecorded {
                event_id: uuid::Uuid::new_v4().to_string(),
                user_id: user.user_id.clone(),
                device_id: device.clone(),
                recorded_at: micros(day),
                samples: vec![Sample {
                    sample_id: uuid::Uuid::new_v4().to_string(),
                    sample_type: "STEPS".into(),
                    value: f64::from(1_000 * day),
                    unit: "count".into(),
                    start_time: micros(day),
                    end_time: micros(day) + 1_800_000_000,
                    utc_offset_seconds: 0,
                    source_app: Some("com.example.private".into()),
                    sync_identifier: None,
                    sync_version: None,
                    metadata: Default::default(),
                }],
            };
            pipeline.append_in_clear(&source, &steps, now).await;
            in_clear += 1;
        }
    }
    let clear_per_user = in_clear / 3;

    // This version's gateway on the stream: the kept user syncs (sealed), the erased user
    // erases.
    pipeline.base_url = pipeline.start_gateway_with(pipeline.gateway_config()).await;
    let on = |user: &Session, base_url: &str| Session {
        base_url: base_url.to_string(),
        ..user.clone()
    };
    let (kept, erased) = (
        on(&kept, &pipeline.base_url),
        on(&erased, &pipeline.base_url),
    );
    sync_steps(&kept, &devices[0], 4, 4_000).await;
    let response = erase(&pipeline, &erased, "correct horse battery").await;
    assert_eq!(response.status(), 202);

    let target = format!("{source}.sealed");
    let args = |switch: bool| ReencryptArgs {
        to: target.clone(),
        switch,
        replication: 1,
        event_log: pipeline.event_log_settings(),
        database_url: pipeline.database_url.clone(),
        keys: pipeline.key_settings(),
    };
    let first = reencrypt(args(false)).await.unwrap();
    assert_eq!(first.sealed, 2 * clear_per_user, "{first:?}");
    assert_eq!(first.left_behind, clear_per_user, "{first:?}");
    // The kept user's sealed sync and the erasure, as they were.
    assert_eq!(first.copied, 2, "{first:?}");
    // Nothing new: nothing copied again.
    let again = reencrypt(args(false)).await.unwrap();
    assert_eq!((again.sealed, again.copied, again.left_behind), (0, 0, 0));

    // The processor on the source (as the version before did, with the account older than
    // encryption keyed now): the erased user's events in clear are not read.
    let processor = CancellationToken::new();
    let running = tokio::spawn(healthpipe_processors::run_aggregation(
        pipeline.processor_config(),
        processor.child_token(),
    ));
    pipeline.settle_aggregation().await;
    let erased_rows: Vec<_> = user_rows(&pipeline.database_url, &erased.user_id, &USER_TABLES)
        .await
        .into_iter()
        .filter(|(_, _, rows)| *rows > 0)
        .collect();
    assert!(erased_rows.is_empty(), "{erased_rows:?}");

    // The source grows; a switch under the running processor is refused and moves nothing.
    sync_steps(&kept, &devices[0], 5, 5_000).await;
    pipeline.settle_aggregation().await;
    let refused = reencrypt(args(true)).await.unwrap_err().to_string();
    assert!(refused.contains("stop the processors"), "{refused}");
    processor.cancel();
    running.await.unwrap().expect("the processor stops cleanly");
    let live_before: Vec<_> = {
        let mut rows = Vec::new();
        for user in [&kept.user_id, &old.user_id] {
            rows.push(user_rows(&pipeline.database_url, user, &USER_TABLES[..PROJECTIONS]).await);
        }
        rows
    };
    let switched = reencrypt(args(true)).await.unwrap();
    assert_eq!(
        (switched.sealed, switched.copied, switched.left_behind),
        (0, 1, 0)
    );
    // The processor stood at the end of the source: it stands at the end of the copy.
    let ends: std::collections::BTreeMap<i32, i64> = log_ends(&pipeline.kafka_brokers, &target)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let group = pipeline.processor_config().group_id;
    let moved = &switched.moved[&group];
    assert!(!moved.is_empty());
    for (partition, next) in moved {
        assert_eq!(
            ends[partition], *next,
            "partition {partition}: {switched:?}"
        );
    }

    // Nothing in clear on the new topic; the erased user has only the erasure there.
    let codec = healthpipe_schemas::EventCodec::new(&pipeline.registry_url);
    let ring = pipeline.keyring(&[&kept.user_id, &old.user_id]).await;
    for user in [&kept.user_id, &old.user_id] {
        let copies = read_topic(&pipeline, &target, user).await;
        assert_eq!(
            copies.len(),
            clear_per_user as usize + usize::from(user == &kept.user_id) * 2
        );
        for payload in copies {
            let written = codec.written(&payload).await.unwrap();
            assert!(matches!(written, Written::Sealed), "{written:?}");
            let opened = codec.decode_user_event(&payload, &ring).await.unwrap();
            assert!(matches!(opened, Opened::Event(_)), "{opened:?}");
        }
    }
    let erased_copies = read_topic(&pipeline, &target, &erased.user_id).await;
    assert_eq!(erased_copies.len(), 1);
    assert!(matches!(
        codec.written(&erased_copies[0]).await.unwrap(),
        Written::Erasure
    ));

    // Services on the new topic: the processor goes on where it stood (nothing re-applied,
    // nothing missed), a new sync lands.
    let moved_topics = Topics::named(&pipeline.topic_prefix, Some(&target));
    let base_url = pipeline
        .start_gateway_with(healthpipe_gateway::GatewayConfig {
            topics: moved_topics.clone(),
            ..pipeline.gateway_config()
        })
        .await;
    let processor = CancellationToken::new();
    let running = tokio::spawn(healthpipe_processors::run_aggregation(
        healthpipe_processors::ProcessorConfig {
            topics: moved_topics.clone(),
            ..pipeline.processor_config()
        },
        processor.child_token(),
    ));
    for (user, before) in [&kept.user_id, &old.user_id].into_iter().zip(&live_before) {
        assert_eq!(
            &user_rows(&pipeline.database_url, user, &USER_TABLES[..PROJECTIONS]).await,
            before
        );
    }
    sync_steps(&on(&kept, &base_url), &devices[0], 6, 6_000).await;
    pipeline
        .wait_for_sql(
            &format!(
                "SELECT sum(value)::bigint FROM aggregates WHERE user_id = '{}' \
                 AND period = 'day' AND sample_type = 'STEPS'",
                kept.user_id
            ),
            &(1_000 + 2_000 + 3_000 + 4_000 + 5_000 + 6_000).to_string(),
        )
        .await;
    processor.cancel();
    running
        .await
        .unwrap()
        .expect("the processor on the new topic");

    // The new topic alone rebuilds the same tables, without the erased user.
    let replay = Replay::start(&pipeline, &moved_topics, false).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    for user in [&kept.user_id, &old.user_id] {
        let live = user_rows(&pipeline.database_url, user, &USER_TABLES[..PROJECTIONS]).await;
        loop {
            let replayed = user_rows(&replay.database_url, user, &USER_TABLES[..PROJECTIONS]).await;
            if replayed == live {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the replay of {user} differs:\n{replayed:?}\nlive:\n{live:?}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    let erased_replayed: Vec<_> = user_rows(
        &replay.database_url,
        &erased.user_id,
        &USER_TABLES[..PROJECTIONS],
    )
    .await
    .into_iter()
    .filter(|(_, _, rows)| *rows > 0)
    .collect();
    assert!(erased_replayed.is_empty(), "{erased_replayed:?}");
    replay.stop().await;
}
