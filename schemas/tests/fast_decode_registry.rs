//! How `EventCodec::decode_user_event` opens sealed events and chooses between the direct
//! `SamplesRecorded` decoder and the generic path, against the local stack's schema registry
//! (`SCHEMA_REGISTRY_URL`, else the checkout's `.stack/env`): only samples written with
//! exactly our schema take the direct path (sealed content, or the same fields written in
//! clear before encryption); other versions and other records keep the generic one.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;

use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use healthpipe_crypto::{DataKey, Keyring};
use healthpipe_schemas::*;
use schema_registry_converter::async_impl::avro::AvroEncoder;
use schema_registry_converter::async_impl::schema_registry::SrSettings;
use schema_registry_converter::schema_registry_common::{
    SchemaType, SubjectNameStrategy, SuppliedSchema,
};

/// The registry of the running local stack; a missing stack fails the test loudly.
fn registry_url() -> String {
    if let Ok(url) = std::env::var("SCHEMA_REGISTRY_URL") {
        return url;
    }
    let mut dir = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
    loop {
        if let Ok(text) = std::fs::read_to_string(dir.join(".stack/env")) {
            let line = text.lines().find_map(|l| {
                l.trim()
                    .trim_start_matches("export ")
                    .strip_prefix("SCHEMA_REGISTRY_URL=")
            });
            return line
                .expect("SCHEMA_REGISTRY_URL in .stack/env")
                .trim_matches('\'')
                .into();
        }
        assert!(
            dir.pop(),
            "set SCHEMA_REGISTRY_URL or run `scripts/stack up`"
        );
    }
}

/// A keyring holding a fresh key for `user`.
fn ring_for(user: &str) -> (Keyring, DataKey) {
    let key = DataKey::generate();
    let mut ring = Keyring::default();
    ring.insert(user.to_string(), Some(key.clone()));
    (ring, key)
}

fn opened(result: Opened<UserEvent>) -> UserEvent {
    match result {
        Opened::Event(e) => e,
        Opened::Erased => panic!("the key is there"),
    }
}

/// A topic no other run uses, so each test registers its own subjects.
fn unique_topic() -> String {
    format!("fast-decode-test-{}", uuid::Uuid::new_v4().simple())
}

fn event(samples: usize) -> SamplesRecorded {
    let sample = |i: usize| Sample {
        sample_id: format!("s-{i}"),
        sample_type: "HEART_RATE".into(),
        value: 61.5 + i as f64,
        unit: "bpm".into(),
        start_time: 1_777_881_600_000_000 + i as i64,
        end_time: 1_777_881_600_000_000 + i as i64,
        utc_offset_seconds: -18_000,
        source_app: i.is_multiple_of(2).then(|| "com.apple.health".into()),
        sync_identifier: Some(format!("sync-{i}")),
        sync_version: Some(i as i64),
        metadata: HashMap::from([("HKMetadataKeyHeartRateMotionContext".into(), "1".into())]),
    };
    SamplesRecorded {
        event_id: uuid::Uuid::new_v4().to_string(),
        user_id: uuid::Uuid::new_v4().to_string(),
        device_id: uuid::Uuid::new_v4().to_string(),
        recorded_at: 1_777_900_000_000_000,
        samples: (0..samples).map(sample).collect(),
    }
}

/// Encodes `value` in clear with writer schema `schema`, registered under the topic's
/// `SamplesRecorded` subject, as a producer from before encryption would.
async fn encode_with_schema(topic: &str, schema: &str, value: Value) -> Vec<u8> {
    let encoder = AvroEncoder::new(SrSettings::new(registry_url()));
    let strategy = SubjectNameStrategy::TopicRecordNameStrategyWithSchema(
        topic.into(),
        SuppliedSchema::new(
            Some(SamplesRecorded::FULL_NAME.into()),
            SchemaType::Avro,
            schema.into(),
        ),
    );
    encoder
        .encode_value(value, &strategy)
        .await
        .expect("encodes")
}

/// The clear schema from before encryption (the content's fields under the event's name),
/// with `edit` applied to each sample's field list, as JSON text.
fn edited_schema(edit: impl Fn(&mut Vec<serde_json::Value>)) -> String {
    let mut schema = clear_schema();
    let sample = &mut schema["fields"][4]["type"]["items"]["fields"];
    edit(sample.as_array_mut().expect("Sample fields"));
    schema.to_string()
}

/// `event` as an Avro value with `edit` applied to each sample's fields.
fn edited_value(event: &SamplesRecorded, edit: impl Fn(&mut Vec<(String, Value)>)) -> Value {
    let mut value = apache_avro::to_value(event).unwrap();
    let Value::Record(fields) = &mut value else {
        unreachable!("a record")
    };
    let Value::Array(samples) = &mut fields[4].1 else {
        unreachable!("samples")
    };
    for sample in samples {
        let Value::Record(sample) = sample else {
            unreachable!("a sample record")
        };
        edit(sample);
    }
    value
}

/// The `SamplesRecorded` schema as it was before encryption.
fn clear_schema() -> serde_json::Value {
    let mut schema: serde_json::Value =
        serde_json::from_str(SamplesRecorded::CONTENT_SCHEMA).unwrap();
    schema["namespace"] = "healthpipe.events".into();
    schema
}

#[tokio::test]
async fn the_current_schema_takes_the_direct_path() {
    let topic = unique_topic();
    let codec = EventCodec::new(&registry_url());
    let sent = event(500);
    let (ring, key) = ring_for(&sent.user_id);
    let bytes = codec.encode(&topic, &sent, &key).await.unwrap();

    let got = opened(codec.decode_user_event(&bytes, &ring).await.unwrap());
    assert_eq!(got, UserEvent::SamplesRecorded(sent.clone()));
    assert_eq!(codec.direct_decodes(), 1);
    codec.decode_user_event(&bytes, &ring).await.unwrap();
    assert_eq!(
        codec.direct_decodes(),
        2,
        "the schema check is cached per id"
    );
}

#[tokio::test]
async fn samples_written_in_clear_with_our_fields_take_the_direct_path_too() {
    let topic = unique_topic();
    let codec = EventCodec::new(&registry_url());
    let sent = event(20);
    let bytes = codec.encode_in_clear(&topic, &sent).await.unwrap();
    assert!(matches!(
        codec.written(&bytes).await.unwrap(),
        Written::InClear(_)
    ));
    let got = opened(
        codec
            .decode_user_event(&bytes, &Keyring::default())
            .await
            .unwrap(),
    );
    assert_eq!(got, UserEvent::SamplesRecorded(sent.clone()));
    assert_eq!(codec.direct_decodes(), 1);
    // An erased user's samples in clear are not read either.
    let mut gone = Keyring::default();
    gone.insert(sent.user_id.clone(), None);
    assert!(matches!(
        codec.decode_user_event(&bytes, &gone).await.unwrap(),
        Opened::Erased
    ));
}

#[tokio::test]
async fn a_newer_writer_schema_goes_through_the_generic_path() {
    let topic = unique_topic();
    let newer = edited_schema(|fields| {
        fields.push(serde_json::json!({
            "name": "note", "type": ["null", "string"], "default": null
        }))
    });
    let sent = event(3);
    let value = edited_value(&sent, |sample| {
        sample.push(("note".into(), Value::Union(1, Box::new("hi".into()))))
    });
    let bytes = encode_with_schema(&topic, &newer, value).await;

    let codec = EventCodec::new(&registry_url());
    let got = opened(
        codec
            .decode_user_event(&bytes, &Keyring::default())
            .await
            .unwrap(),
    );
    assert_eq!(got, UserEvent::SamplesRecorded(sent));
    assert_eq!(codec.direct_decodes(), 0);
}

#[tokio::test]
async fn an_older_writer_schema_goes_through_the_generic_path() {
    let topic = unique_topic();
    let dropped = ["sync_identifier", "sync_version", "metadata"];
    let older =
        edited_schema(|fields| fields.retain(|f| !dropped.contains(&f["name"].as_str().unwrap())));
    let mut sent = event(3);
    let value = edited_value(&sent, |sample| {
        sample.retain(|(n, _)| !dropped.contains(&n.as_str()))
    });
    let bytes = encode_with_schema(&topic, &older, value).await;

    let codec = EventCodec::new(&registry_url());
    let got = opened(
        codec
            .decode_user_event(&bytes, &Keyring::default())
            .await
            .unwrap(),
    );
    for sample in &mut sent.samples {
        (sample.sync_identifier, sample.sync_version) = (None, None);
        sample.metadata.clear();
    }
    assert_eq!(got, UserEvent::SamplesRecorded(sent));
    assert_eq!(codec.direct_decodes(), 0);
}

#[tokio::test]
async fn other_records_go_through_the_generic_path() {
    let topic = unique_topic();
    let codec = EventCodec::new(&registry_url());
    let sent = UserRegistered {
        event_id: "e".into(),
        user_id: "u".into(),
        timezone: "Europe/Paris".into(),
        registered_at: 1,
    };
    let (ring, key) = ring_for("u");
    let bytes = codec.encode(&topic, &sent, &key).await.unwrap();
    let got = opened(codec.decode_user_event(&bytes, &ring).await.unwrap());
    assert_eq!(got, UserEvent::UserRegistered(sent));
    assert_eq!(codec.direct_decodes(), 0);
}

#[tokio::test]
async fn a_corrupt_body_under_the_current_schema_is_undecodable() {
    let topic = unique_topic();
    let codec = EventCodec::new(&registry_url());
    let sent = event(2);
    let (ring, key) = ring_for(&sent.user_id);
    let bytes = codec.encode(&topic, &sent, &key).await.unwrap();
    let got = codec
        .decode_user_event(&bytes[..bytes.len() - 1], &ring)
        .await;
    assert!(matches!(got, Err(CodecError::Undecodable(_))), "{got:?}");
}

#[tokio::test]
async fn a_tampered_or_foreign_sealed_event_does_not_open_and_an_erased_one_is_skipped() {
    let topic = unique_topic();
    let codec = EventCodec::new(&registry_url());
    let sent = event(3);
    let (ring, key) = ring_for(&sent.user_id);
    let bytes = codec.encode(&topic, &sent, &key).await.unwrap();
    // The ciphertext is the envelope's tail: flip a byte of the tag.
    let mut tampered = bytes.clone();
    *tampered.last_mut().unwrap() ^= 1;
    let got = codec.decode_user_event(&tampered, &ring).await;
    assert!(
        matches!(&got, Err(e @ CodecError::Unauthentic { .. }) if !e.is_retryable()),
        "{got:?}"
    );
    // Another key under the same user: does not authenticate either.
    let (other, _) = ring_for(&sent.user_id);
    let got = codec.decode_user_event(&bytes, &other).await;
    assert!(
        matches!(got, Err(CodecError::Unauthentic { .. })),
        "{got:?}"
    );
    // The key is gone: erased, not an error.
    let mut erased = Keyring::default();
    erased.insert(sent.user_id.clone(), None);
    let got = codec.decode_user_event(&bytes, &erased).await.unwrap();
    assert!(matches!(got, Opened::Erased));
    // The content is not in the message in clear.
    let needle = b"com.apple.health";
    assert!(!bytes.windows(needle.len()).any(|w| w == needle));
}

/// A registry that answers 503 to its first request and our schema to every later one.
fn flaky_registry() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let schema = serde_json::json!({ "schema": clear_schema().to_string() }).to_string();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { return };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let (status, body) = match n {
                0 => ("503 Service Unavailable", "{}"),
                _ => ("200 OK", schema.as_str()),
            };
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    url
}

#[tokio::test]
async fn a_registry_outage_is_retryable_and_not_remembered() {
    let codec = EventCodec::new(&flaky_registry());
    let sent = event(2);
    let mut bytes = vec![0, 0, 0, 0, 42];
    let schema = apache_avro::Schema::parse_str(&clear_schema().to_string()).unwrap();
    let writer = GenericDatumWriter::builder(&schema).build().unwrap();
    let value = apache_avro::to_value(&sent).unwrap();
    bytes.extend(writer.write_value_to_vec(value).unwrap());

    let ring = Keyring::default();
    let first = codec.decode_user_event(&bytes, &ring).await;
    assert!(
        matches!(&first, Err(e @ CodecError::RegistryUnavailable(_)) if e.is_retryable()),
        "{first:?}"
    );
    let second = opened(codec.decode_user_event(&bytes, &ring).await.unwrap());
    assert_eq!(second, UserEvent::SamplesRecorded(sent));
}
