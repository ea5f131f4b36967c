//! Outside tools read our topics: events the gateway appends are consumed and decoded through
//! the schema registry by two independent, widely used clients, Python's `confluent-kafka`
//! (SchemaRegistryClient + AvroDeserializer) and Node's `kafkajs` with
//! `@kafkajs/confluent-schema-registry`, run as subprocesses (tests/clients/consume.py and
//! consume.mjs, installed by tests/clients/install, which scripts/test runs). `kcat` lists
//! the topic and prints the raw messages; Debian's kcat has no Avro support, so the test
//! checks the Confluent framing itself and resolves each schema id through the registry.
//!
//! The health content of every event is sealed with the user's data key: the outside tools
//! see the clear fields (event id, user id, one time) and ciphertext, never a value, a type,
//! a source app or a device; the same bytes opened with the key give exactly what was sent.
//!
//! A missing tool fails the test: it never skips.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{repo_root, Pipeline};
use serde_json::{json, Value};

/// What the test's events say about the user's health, none of which may appear in clear on
/// the topic: a sample type, a source app, a sync identifier, a metadata key, a device kind,
/// a time zone.
const HEALTH_CONTENT: [&str; 6] = [
    "DISTANCE",
    "com.example.run",
    "run-1",
    "HKMetadataKeySyncVersion",
    "apple_watch",
    "Europe/Berlin",
];

/// Longest a client may take to read the test's few events.
const CLIENT_TIMEOUT_SECS: u64 = 60;

/// The events this test makes, in the order the gateway appends them.
const EXPECTED_RECORDS: [&str; 4] = [
    "healthpipe.events.UserRegistered",
    "healthpipe.events.DeviceRegistered",
    "healthpipe.events.SamplesRecorded",
    "healthpipe.events.SamplesRecorded",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn python_node_and_kcat_read_the_events_the_gateway_writes() {
    let python = tool("HEALTHPIPE_PYTHON", || {
        repo_root().join(".stack/tools/venv/bin/python")
    });
    let node = tool("HEALTHPIPE_NODE", || PathBuf::from("node"));
    let kcat = tool("HEALTHPIPE_KCAT", || PathBuf::from("kcat"));
    let clients = repo_root().join("tests/clients");

    let pipeline = Pipeline::start().await;
    let before = Utc::now().timestamp_micros();
    let user = pipeline.new_user("Europe/Berlin").await;
    let device = user.device("apple_watch", "standard-clients-watch").await;
    let distance_id = uuid::Uuid::new_v4().to_string();
    let response = user
        .post(
            &format!("/api/v1/devices/{device}/sync"),
            json!({"samples": [
                {"id": distance_id, "type": "DISTANCE", "value": 2.5, "unit": "km",
                 "start_date": "2026-05-04T10:00:00.123456+02:00",
                 "end_date": "2026-05-04T10:30:00.654321+02:00",
                 "source_app": "com.example.run",
                 "metadata": {"HKMetadataKeySyncIdentifier": "run-1",
                              "HKMetadataKeySyncVersion": "3", "indoor": false}},
                {"type": "HEART_RATE", "value": 72, "unit": "count/min",
                 "start_date": "2026-05-04T08:15:00Z", "end_date": "2026-05-04T08:15:00Z"},
            ]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"synced": 2, "errors": 0, "error_details": []})
    );
    let response = user
        .post(
            &format!("/api/v1/devices/{device}/sync"),
            json!({"samples": [
                {"type": "WEIGHT", "value": 72500, "unit": "g",
                 "start_date": "2026-05-05T07:00:00-04:00", "end_date": "2026-05-05T07:00:00-04:00"},
            ]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let after = Utc::now().timestamp_micros();

    let topic = pipeline.topics.user_events.clone();
    let brokers = pipeline.kafka_brokers.clone();
    let registry = pipeline.registry_url.clone();
    let count = EXPECTED_RECORDS.len().to_string();
    let consumer_args = |script: &str, count: &str, timeout: &str| -> Vec<String> {
        [
            clients.join(script).to_string_lossy().into_owned(),
            "--brokers".into(),
            brokers.clone(),
            "--registry".into(),
            registry.clone(),
            "--topic".into(),
            topic.clone(),
            "--count".into(),
            count.into(),
            "--timeout".into(),
            timeout.into(),
        ]
        .to_vec()
    };
    let timeout = CLIENT_TIMEOUT_SECS.to_string();
    // Both clients at once, plus each asked for one message more than the topic holds: that
    // must time out (exit 2), which shows they saw exactly the four events and that a
    // shortfall fails loudly instead of passing with fewer lines.
    let (py, js, py_more, js_more) = tokio::join!(
        run(&python, consumer_args("consume.py", &count, &timeout)),
        run(&node, consumer_args("consume.mjs", &count, &timeout)),
        run(&python, consumer_args("consume.py", "5", "10")),
        run(&node, consumer_args("consume.mjs", "5", "10")),
    );
    let py = json_lines("consume.py", &py);
    let js = json_lines("consume.mjs", &js);
    for (name, out) in [("consume.py", &py_more), ("consume.mjs", &js_more)] {
        assert_eq!(
            out.status.code(),
            Some(2),
            "{name} asked for 5 of 4 messages should time out; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("read 4 of 5 messages"),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let (distance_start, distance_end) = (
        micros("2026-05-04T10:00:00.123456+02:00"),
        micros("2026-05-04T10:30:00.654321+02:00"),
    );
    let heart_rate_at = micros("2026-05-04T08:15:00Z");
    let weighed_at = micros("2026-05-05T07:00:00-04:00");
    assert_eq!(distance_start, 1_777_881_600_123_456); // 08:00:00.123456 UTC
    assert_eq!(weighed_at, 1_777_978_800_000_000); // 11:00 UTC

    for (client, lines) in [("python confluent-kafka", &py), ("node kafkajs", &js)] {
        assert_eq!(lines.len(), 4, "{client}: {lines:#?}");
        for line in lines.iter() {
            assert_eq!(line["key"], json!(user.user_id), "{client}: {line}");
        }
        let records: Vec<&Value> = lines.iter().map(|l| &l["record"]).collect();

        // The fields we cannot know beforehand: well-formed and in range.
        let event_ids: Vec<&str> = records
            .iter()
            .map(|r| r["event_id"].as_str().expect("event_id is a string"))
            .collect();
        for id in &event_ids {
            uuid::Uuid::parse_str(id).unwrap_or_else(|_| panic!("{client}: event_id {id}"));
        }
        let user_registered_at = timestamp(client, &records[0]["registered_at"], before, after);
        let device_registered_at = timestamp(client, &records[1]["registered_at"], before, after);
        let first_sync_at = timestamp(client, &records[2]["recorded_at"], before, after);
        let second_sync_at = timestamp(client, &records[3]["recorded_at"], before, after);
        assert!(
            user_registered_at <= device_registered_at
                && device_registered_at <= first_sync_at
                && first_sync_at <= second_sync_at,
            "{client}: times out of order in {records:#?}"
        );
        // Each record shows only what routing and operations need; the content is sealed.
        let times = [
            ("registered_at", user_registered_at),
            ("registered_at", device_registered_at),
            ("recorded_at", first_sync_at),
            ("recorded_at", second_sync_at),
        ];
        for ((record, event_id), (time_field, time)) in records.iter().zip(&event_ids).zip(times) {
            let sealed = record["sealed"].as_str().expect("sealed is bytes (hex)");
            assert!(
                sealed.len() > 2 * 28,
                "{client}: sealed too short: {record}"
            );
            assert_eq!(
                numbers_as_f64(record),
                numbers_as_f64(&json!({
                    "event_id": event_id,
                    "user_id": user.user_id,
                    time_field: time,
                    "sealed": sealed,
                })),
                "{client}: only the clear fields and the ciphertext"
            );
        }
    }
    // Nothing of the health content appears anywhere in what the outside clients print.
    for (client, lines) in [("python confluent-kafka", &py), ("node kafkajs", &js)] {
        let text = serde_json::to_string(lines).unwrap();
        for secret in HEALTH_CONTENT {
            assert!(!text.contains(secret), "{client} shows {secret:?}: {text}");
        }
    }
    // The two clients agree field by field, including what we only range-checked above.
    let py_records: Vec<Value> = py.iter().map(|l| numbers_as_f64(&l["record"])).collect();
    let js_records: Vec<Value> = js.iter().map(|l| numbers_as_f64(&l["record"])).collect();
    assert_eq!(py_records, js_records);

    // kcat: the topic is in the cluster's metadata...
    let listing = run(&kcat, strings(&["-L", "-b", &brokers])).await;
    assert!(listing.status.success(), "kcat -L: {listing:?}");
    let listing = String::from_utf8(listing.stdout).unwrap();
    assert!(
        listing.contains(&format!("topic \"{topic}\" with ")),
        "kcat -L does not list {topic}:\n{listing}"
    );
    // ...and its raw messages are Confluent-framed Avro whose schema ids the registry
    // resolves to the records' schemas, registered under `<topic>-<record full name>`.
    let raw = run(
        &kcat,
        strings(&[
            "-C",
            "-b",
            &brokers,
            "-t",
            &topic,
            "-o",
            "beginning",
            "-e",
            "-q",
            "-f",
            "%K %S\n%k%s\n",
        ]),
    )
    .await;
    assert!(raw.status.success(), "kcat -C: {raw:?}");
    let messages = parse_kcat(&raw.stdout);
    assert_eq!(messages.len(), EXPECTED_RECORDS.len(), "{messages:?}");
    for (_, value) in &messages {
        for secret in HEALTH_CONTENT {
            let secret = secret.as_bytes();
            assert!(
                !value.windows(secret.len()).any(|w| w == secret),
                "kcat's raw bytes show {:?}",
                String::from_utf8_lossy(secret)
            );
        }
    }
    // With the user's key, the same bytes open to exactly what the device sent.
    let ring = pipeline.keyring(&[&user.user_id]).await;
    let codec = healthpipe_schemas::EventCodec::new(&pipeline.registry_url);
    let mut opened = Vec::new();
    for (_, value) in &messages {
        match codec.decode_user_event(value, &ring).await.unwrap() {
            healthpipe_schemas::Opened::Event(event) => opened.push(event),
            healthpipe_schemas::Opened::Erased => panic!("the user's key is there"),
        }
    }
    let content = |event: &healthpipe_schemas::UserEvent| -> Value {
        use healthpipe_schemas::UserEvent as E;
        match event {
            E::UserRegistered(e) => serde_json::to_value(e),
            E::DeviceRegistered(e) => serde_json::to_value(e),
            E::SamplesRecorded(e) => serde_json::to_value(e),
            other => panic!("unexpected event {other:?}"),
        }
        .unwrap()
    };
    let contents: Vec<Value> = opened.iter().map(content).collect();
    let heart_rate_id = contents[2]["samples"][1]["sample_id"]
        .as_str()
        .expect("sample_id is a string");
    uuid::Uuid::parse_str(heart_rate_id).expect("derived sample id is a UUID");
    let weight_id = contents[3]["samples"][0]["sample_id"].as_str().unwrap();
    uuid::Uuid::parse_str(weight_id).expect("derived sample id is a UUID");
    let clear: Vec<&Value> = py.iter().map(|l| &l["record"]).collect();
    let event_id = |i: usize| clear[i]["event_id"].clone();
    let time = |i: usize, field: &str| clear[i][field].clone();
    let expected = [
        json!({
            "event_id": event_id(0),
            "user_id": user.user_id,
            "timezone": "Europe/Berlin",
            "registered_at": time(0, "registered_at"),
        }),
        json!({
            "event_id": event_id(1),
            "user_id": user.user_id,
            "device_id": device,
            "device_type": "apple_watch",
            "priority": 100,
            "type_priorities": {},
            "registered_at": time(1, "registered_at"),
        }),
        json!({
            "event_id": event_id(2),
            "user_id": user.user_id,
            "device_id": device,
            "recorded_at": time(2, "recorded_at"),
            "samples": [
                {
                    "sample_id": distance_id,
                    "sample_type": "DISTANCE",
                    // 2.5 km, stored in the canonical unit.
                    "value": 2500.0,
                    "unit": "m",
                    "start_time": distance_start,
                    "end_time": distance_end,
                    "utc_offset_seconds": 7200,
                    "source_app": "com.example.run",
                    "sync_identifier": "run-1",
                    "sync_version": 3,
                    "metadata": {"HKMetadataKeySyncIdentifier": "run-1",
                                 "HKMetadataKeySyncVersion": "3", "indoor": "false"},
                },
                {
                    "sample_id": heart_rate_id,
                    "sample_type": "HEART_RATE",
                    "value": 72.0,
                    "unit": "bpm",
                    "start_time": heart_rate_at,
                    "end_time": heart_rate_at,
                    "utc_offset_seconds": 0,
                    "source_app": null,
                    "sync_identifier": null,
                    "sync_version": null,
                    "metadata": {},
                },
            ],
        }),
        json!({
            "event_id": event_id(3),
            "user_id": user.user_id,
            "device_id": device,
            "recorded_at": time(3, "recorded_at"),
            "samples": [{
                "sample_id": weight_id,
                "sample_type": "WEIGHT",
                // 72,500 g, stored in kg.
                "value": 72.5,
                "unit": "kg",
                "start_time": weighed_at,
                "end_time": weighed_at,
                "utc_offset_seconds": -4 * 3600,
                "source_app": null,
                "sync_identifier": null,
                "sync_version": null,
                "metadata": {},
            }],
        }),
    ];
    for (content, expected) in contents.iter().zip(&expected) {
        assert_eq!(
            numbers_as_f64(content),
            numbers_as_f64(expected),
            "opened\n{content:#}\nexpected\n{expected:#}"
        );
    }
    let http = reqwest::Client::new();
    for ((key, value), expected_record) in messages.iter().zip(EXPECTED_RECORDS) {
        assert_eq!(key, user.user_id.as_bytes());
        assert!(value.len() > 5, "raw value too short: {value:?}");
        assert_eq!(value[0], 0, "magic byte of {value:?}");
        let id = u32::from_be_bytes(value[1..5].try_into().unwrap());
        let response = http
            .get(format!("{}/schemas/ids/{id}", pipeline.registry_url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "schema id {id}");
        let body: Value = response.json().await.unwrap();
        let schema: Value = serde_json::from_str(body["schema"].as_str().unwrap()).unwrap();
        assert_eq!(schema["type"], "record", "{schema}");
        let full_name = match (schema["name"].as_str(), schema["namespace"].as_str()) {
            (Some(name), _) if name.contains('.') => name.to_string(),
            (Some(name), Some(namespace)) => format!("{namespace}.{name}"),
            (Some(name), None) => name.to_string(),
            _ => panic!("schema {id} has no name: {schema}"),
        };
        assert_eq!(full_name, expected_record, "schema id {id}");
        let subjects: Value = http
            .get(format!(
                "{}/schemas/ids/{id}/versions",
                pipeline.registry_url
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let subject = format!("{topic}-{expected_record}");
        assert!(
            subjects
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["subject"] == subject.as_str()),
            "schema id {id} is not registered under {subject}: {subjects}"
        );
    }
}

/// The program an env var names, else `default`; it must exist (a bare name: on PATH).
fn tool(var: &str, default: impl FnOnce() -> PathBuf) -> PathBuf {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(default);
    let found = if path.components().count() > 1 {
        path.is_file()
    } else {
        std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|dir| dir.join(&path).is_file()))
            .unwrap_or(false)
    };
    assert!(
        found,
        "{} ({var}) not found: run `bash scripts/test` or `bash tests/clients/install`, \
         which install the standard clients this test needs",
        path.display()
    );
    path
}

/// Runs `program args`, killing it if it outlives the clients' timeout by far.
async fn run(program: &Path, args: Vec<String>) -> Output {
    let child = tokio::process::Command::new(program)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    tokio::time::timeout(
        Duration::from_secs(CLIENT_TIMEOUT_SECS + 30),
        child.wait_with_output(),
    )
    .await
    .unwrap_or_else(|_| panic!("{} {args:?} hung", program.display()))
    .unwrap()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// The JSON lines a consumer printed; its failure fails the test with its stderr.
fn json_lines(name: &str, output: &Output) -> Vec<Value> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{name} failed ({}):\nstderr:\n{}\nstdout:\n{stdout}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{name} printed {l:?}: {e}")))
        .collect()
}

fn micros(rfc3339: &str) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_micros()
}

/// A timestamp-micros the gateway set between `before` and `after`, as an integer.
fn timestamp(client: &str, value: &Value, before: i64, after: i64) -> i64 {
    let micros = value
        .as_i64()
        .unwrap_or_else(|| panic!("{client}: timestamp {value} is not integer microseconds"));
    assert!(
        (before..=after).contains(&micros),
        "{client}: {micros} not within the test's run [{before}, {after}]"
    );
    micros
}

/// Python prints Avro doubles as `2500.0`, JavaScript as `2500`: compare numbers as f64
/// (every value here, timestamps in microseconds included, is exact in an f64).
fn numbers_as_f64(value: &Value) -> Value {
    match value {
        Value::Number(n) => json!(n.as_f64().unwrap()),
        Value::Array(items) => Value::Array(items.iter().map(numbers_as_f64).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), numbers_as_f64(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Splits kcat's `-f '%K %S\n%k%s\n'` output into (key, value) byte strings; the lengths
/// make it safe for binary payloads.
fn parse_kcat(mut out: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut messages = Vec::new();
    while !out.is_empty() {
        let newline = out
            .iter()
            .position(|&b| b == b'\n')
            .expect("kcat header line");
        let header = std::str::from_utf8(&out[..newline]).unwrap();
        let (key_len, value_len) = header
            .split_once(' ')
            .unwrap_or_else(|| panic!("kcat header {header:?}"));
        let key_len: usize = key_len
            .parse()
            .unwrap_or_else(|_| panic!("key length in {header:?}"));
        let value_len: usize = value_len
            .parse()
            .unwrap_or_else(|_| panic!("value length in {header:?}"));
        out = &out[newline + 1..];
        let key = out[..key_len].to_vec();
        let value = out[key_len..key_len + value_len].to_vec();
        assert_eq!(out[key_len + value_len], b'\n', "kcat record terminator");
        out = &out[key_len + value_len + 1..];
        messages.push((key, value));
    }
    messages
}
