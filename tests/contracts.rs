//! The event contracts on the real stack: schema evolution through the registry, poison
//! messages going to the dead-letter topic while the processor keeps going, and a registry
//! outage answered with 503 by the gateway and waited out by the processor.

mod common;

use std::time::Duration;

use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::Schema;
use common::{stack, Pipeline};
use healthpipe_crypto::{DataKey, Keyring};
use healthpipe_schemas::{Event, EventCodec, Opened, SamplesDeleted, SamplesRecorded, UserEvent};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{json, Value};

/// The `SamplesDeleted` envelope as a newer producer would write it: one optional clear
/// field more.
fn samples_deleted_v2() -> String {
    let mut schema: Value = serde_json::from_str(SamplesDeleted::SCHEMA).unwrap();
    schema["fields"].as_array_mut().unwrap().push(json!({
        "name": "reason", "type": ["null", "string"], "default": null,
        "doc": "Why the user deleted the samples, if they said."
    }));
    schema.to_string()
}

/// The fields of a record value, by name.
fn field<'a>(value: &'a apache_avro::types::Value, name: &str) -> &'a apache_avro::types::Value {
    let apache_avro::types::Value::Record(fields) = value else {
        panic!("not a record: {value:?}")
    };
    &fields.iter().find(|(n, _)| n == name).unwrap().1
}

async fn register(registry: &str, subject: &str, schema: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{registry}/subjects/{subject}/versions"))
        .header("content-type", "application/vnd.schemaregistry.v1+json")
        .json(&json!({"schema": schema}))
        .send()
        .await
        .unwrap()
}

/// Confluent wire format by hand: magic byte, schema id, Avro datum.
fn wire(id: u32, schema: &Schema, value: apache_avro::types::Value) -> Vec<u8> {
    let mut bytes = vec![0u8];
    bytes.extend_from_slice(&id.to_be_bytes());
    let writer = GenericDatumWriter::builder(schema).build().unwrap();
    bytes.extend(writer.write_value_to_vec(value).unwrap());
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn old_and_new_readers_read_each_others_events_and_incompatible_changes_are_refused() {
    let registry = &stack().registry_url;
    let topic = common::unique("evolution");
    let subject = format!("{topic}-{}", SamplesDeleted::FULL_NAME);
    let codec = EventCodec::new(registry);
    let user = "6f1c1e52-1b7e-4a8e-9a53-2f1f0e0f7a11";
    let key = DataKey::generate();
    let mut ring = Keyring::default();
    ring.insert(user.into(), Some(key.clone()));
    let old_event = SamplesDeleted {
        event_id: "e-old".into(),
        user_id: user.into(),
        sample_ids: vec!["a".into(), "b".into()],
        deleted_at: 1_777_000_000_000_000,
    };
    // Version 1, written by today's code.
    let old_bytes = codec.encode(&topic, &old_event, &key).await.unwrap();
    let v1 = Schema::parse_str(SamplesDeleted::SCHEMA).unwrap();

    // Version 2 adds an optional field with a default: BACKWARD compatible, accepted.
    let v2_text = samples_deleted_v2();
    let response = register(registry, &subject, &v2_text).await;
    assert_eq!(response.status(), 200);
    let v2_id = response.json::<Value>().await.unwrap()["id"]
        .as_u64()
        .unwrap() as u32;
    let v2 = Schema::parse_str(&v2_text).unwrap();
    // A newer producer seals the content as today and adds the clear field.
    let new_content = SamplesDeleted {
        event_id: "e-new".into(),
        user_id: user.into(),
        sample_ids: vec!["c".into()],
        deleted_at: 1_777_000_000_000_001,
    };
    let sealed_today = codec.encode(&topic, &new_content, &key).await.unwrap();
    let v1_reader = apache_avro::reader::datum::GenericDatumReader::builder(&v1)
        .build()
        .unwrap();
    let today = v1_reader.read_value(&mut &sealed_today[5..]).unwrap();
    let apache_avro::types::Value::Record(mut fields) = today else {
        panic!("a record")
    };
    fields.push((
        "reason".into(),
        apache_avro::types::Value::Union(1, Box::new("duplicate import".into())),
    ));
    let new_bytes = wire(v2_id, &v2, apache_avro::types::Value::Record(fields));

    // An old reader (today's code) reads the new event, ignoring the new field.
    match codec.decode_user_event(&new_bytes, &ring).await.unwrap() {
        Opened::Event(UserEvent::SamplesDeleted(e)) => {
            assert_eq!(e.event_id, "e-new");
            assert_eq!(e.sample_ids, vec!["c".to_string()]);
        }
        other => panic!("decoded as {other:?}"),
    }
    // A new reader reads the old event: the missing field takes its default.
    let reader = apache_avro::reader::datum::GenericDatumReader::builder(&v1)
        .reader_schema(&v2)
        .build()
        .unwrap();
    let upgraded = reader.read_value(&mut &old_bytes[5..]).unwrap();
    assert_eq!(
        field(&upgraded, "reason"),
        &apache_avro::types::Value::Union(0, Box::new(apache_avro::types::Value::Null))
    );
    assert_eq!(
        field(&upgraded, "event_id"),
        &apache_avro::types::Value::String("e-old".into())
    );
    // And the new reader reads new events with the field.
    let v2_reader = apache_avro::reader::datum::GenericDatumReader::builder(&v2)
        .build()
        .unwrap();
    let read = v2_reader.read_value(&mut &new_bytes[5..]).unwrap();
    assert_eq!(
        field(&read, "reason"),
        &apache_avro::types::Value::Union(1, Box::new("duplicate import".into()))
    );

    // A required field without a default would break old events: refused with 409.
    let mut v3: Value = serde_json::from_str(&v2_text).unwrap();
    v3["fields"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "actor", "type": "string"}));
    let response = register(registry, &subject, &v3.to_string()).await;
    assert_eq!(response.status(), 409);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error_code"], json!(409));
}

fn producer(brokers: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap()
}

async fn produce(producer: &FutureProducer, topic: &str, key: &str, payload: &[u8]) {
    producer
        .send(
            FutureRecord::to(topic).key(key).payload(payload),
            Duration::from_secs(10),
        )
        .await
        .expect("produced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn poison_messages_go_to_the_dead_letter_topic_and_the_processor_goes_on() {
    let pipeline = Pipeline::start().await;
    let user = pipeline.new_user("UTC").await;
    let phone = user.device("iphone", "phone").await;
    let sync = |value: u32, hour: u32| {
        json!({"samples": [{"type": "STEPS", "value": value, "unit": "count",
            "start_date": format!("2026-05-04T{hour:02}:00:00Z"),
            "end_date": format!("2026-05-04T{hour:02}:30:00Z")}]})
    };
    assert_eq!(
        user.post(&format!("/api/v1/devices/{phone}/sync"), sync(100, 8))
            .await
            .status(),
        200
    );

    // Four kinds of poison, on the user's own partition (same key).
    let subject = format!(
        "{}-healthpipe.events.SamplesRecorded",
        pipeline.topics.user_events
    );
    let latest: Value = reqwest::get(format!(
        "{}/subjects/{subject}/versions/latest",
        pipeline.registry_url
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let known_id = latest["id"].as_u64().unwrap() as u32;
    let mut truncated = vec![0u8];
    truncated.extend_from_slice(&known_id.to_be_bytes());
    truncated.extend_from_slice(&[0x02, 0x80]);
    // A real event of the user, sealed with the user's key, one byte changed in transit.
    let codec = EventCodec::new(&pipeline.registry_url);
    let key = pipeline.data_key(user.user_id.parse().unwrap()).await;
    let genuine = SamplesRecorded {
        event_id: uuid::Uuid::new_v4().to_string(),
        user_id: user.user_id.clone(),
        device_id: phone.clone(),
        recorded_at: 1_777_000_000_000_000,
        samples: Vec::new(),
    };
    let mut tampered = codec
        .encode(&pipeline.topics.user_events, &genuine, &key)
        .await
        .unwrap();
    *tampered.last_mut().unwrap() ^= 0x01;
    let poisons: Vec<Vec<u8>> = vec![
        b"not avro at all".to_vec(),
        [&[0u8][..], &999_999u32.to_be_bytes(), &[1, 2, 3]].concat(),
        truncated,
        tampered,
    ];
    let producer = producer(&pipeline.kafka_brokers);
    for poison in &poisons {
        produce(
            &producer,
            &pipeline.topics.user_events,
            &user.user_id,
            poison,
        )
        .await;
    }
    assert_eq!(
        user.post(&format!("/api/v1/devices/{phone}/sync"), sync(50, 9))
            .await
            .status(),
        200
    );

    // The sample after the poison is applied: the processor kept going.
    pipeline
        .wait_for_sql(
            &format!(
                "SELECT value FROM aggregates WHERE user_id = '{}' AND period = 'day'",
                user.user_id
            ),
            "150",
        )
        .await;

    // Each poison message is in the dead-letter topic, bytes intact, with the reason.
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &pipeline.kafka_brokers)
        .set("group.id", common::unique("dlq-reader"))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&[&pipeline.topics.dead_letter]).unwrap();
    let mut seen = Vec::new();
    while seen.len() < poisons.len() {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .expect("dead letters arrive")
            .unwrap();
        let headers = message.headers().expect("dead letters carry headers");
        let reason = headers
            .iter()
            .find(|h| h.key == "healthpipe.error")
            .and_then(|h| h.value)
            .map(|v| String::from_utf8_lossy(v).to_string())
            .expect("a reason header");
        assert!(!reason.is_empty());
        assert_eq!(message.key(), Some(user.user_id.as_bytes()));
        seen.push(message.payload().unwrap().to_vec());
    }
    seen.sort();
    let mut expected = poisons.clone();
    expected.sort();
    assert_eq!(seen, expected);

    // And the processor's metric counts them.
    let metrics = healthpipe_processors::metrics::render();
    let counted: f64 = metrics
        .lines()
        .find(|l| l.starts_with("healthpipe_processor_messages_total{outcome=\"dead_lettered\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .expect("the dead-letter counter is exported");
    assert!(counted >= 4.0, "dead-letter counter {counted}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_registry_outage_gives_503_at_the_gateway_and_pauses_the_processor() {
    let pipeline = Pipeline::without_processor().await;
    let user = pipeline.new_user("UTC").await;
    let phone = user.device("iphone", "phone").await;

    // A gateway whose registry is down answers 503 with Retry-After and stores nothing.
    let mut config = pipeline.gateway_config();
    config.registry_url = "http://127.0.0.1:9".into();
    let broken = std::sync::Arc::new(healthpipe_gateway::AppState::connect(config).await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let broken_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(healthpipe_gateway::serve_listener(
        listener,
        broken,
        std::future::pending(),
    ));
    let response = reqwest::Client::new()
        .post(format!("{broken_url}/api/v1/devices/{phone}/sync"))
        .bearer_auth(&user.token)
        .json(
            &json!({"samples": [{"type": "STEPS", "value": 7, "unit": "count",
            "start_date": "2026-05-04T08:00:00Z", "end_date": "2026-05-04T08:10:00Z"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));

    // The healthy gateway takes the sample; a processor without its registry applies
    // nothing and dead-letters nothing, it waits.
    let ok = user
        .post(
            &format!("/api/v1/devices/{phone}/sync"),
            json!({"samples": [{"type": "STEPS", "value": 7, "unit": "count",
                "start_date": "2026-05-04T08:00:00Z", "end_date": "2026-05-04T08:10:00Z"}]}),
        )
        .await;
    assert_eq!(ok.status(), 200);
    let mut config = pipeline.processor_config();
    config.registry_url = "http://127.0.0.1:9".into();
    let token = tokio_util::sync::CancellationToken::new();
    let stalled = tokio::spawn(healthpipe_processors::run_aggregation(
        config.clone(),
        token.clone(),
    ));
    let group = config.group_id.clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::time::Instant::now() < deadline {
        let lag = healthpipe::progress::lag(
            &pipeline.database_url,
            &pipeline.kafka_brokers,
            &pipeline.topics.user_events,
            &group,
        )
        .await
        .unwrap();
        assert!(lag > 0, "nothing may be applied without the registry");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        !stalled.is_finished(),
        "the processor waits instead of failing"
    );
    token.cancel();
    stalled.await.unwrap().unwrap();

    // Once the registry is back (the right URL), the same group applies everything.
    pipeline.start_processor();
    pipeline
        .wait_for_sql(
            &format!(
                "SELECT value FROM aggregates WHERE user_id = '{}' AND period = 'day'",
                user.user_id
            ),
            "7",
        )
        .await;
}
