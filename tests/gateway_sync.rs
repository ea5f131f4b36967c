//! The sync contract of the gateway on the real stack: validation by index, partial
//! acceptance, canonical units, stable ids, size limits, idempotency (stored answers, key
//! reuse, in-flight claims, expiry) and durability (503 when Kafka cannot take the samples,
//! then a clean retry).

mod common;

use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use common::{Pipeline, Session};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn db(pipeline: &Pipeline) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(
        &pipeline.database_url,
        healthpipe_storage::pool::tls().expect("TLS connector"),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    client
}

/// Messages in the pipeline's event topic (no group ever stores offsets under this name, so
/// its lag is the topic's end offset).
async fn events(pipeline: &Pipeline) -> i64 {
    healthpipe::progress::lag(
        &pipeline.database_url,
        &pipeline.kafka_brokers,
        &pipeline.topics.user_events,
        "nobody-reads-this",
    )
    .await
    .unwrap()
}

fn steps(value: f64, start: &str, end: &str) -> Value {
    json!({"type": "STEPS", "value": value, "unit": "count", "start_date": start, "end_date": end})
}

/// POSTs `body` to the device's sync with extra headers.
async fn sync_with(
    user: &Session,
    device: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> reqwest::Response {
    let mut request = user
        .http
        .post(format!("{}/api/v1/devices/{device}/sync", user.base_url))
        .bearer_auth(&user.token)
        .json(body);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.send().await.unwrap()
}

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn units_are_converted_to_canonical_ones_in_the_samples_table() {
    let pipeline = Pipeline::start().await;
    let user = pipeline.new_user("UTC").await;
    let device = user.device("iphone", "phone").await;
    let at = "2026-05-04T08:00:00Z";
    let one = |t: &str, value: f64, unit: &str| json!({"type": t, "value": value, "unit": unit, "start_date": at, "end_date": at});
    let body = json!({"samples": [
        one("WEIGHT", 176.0, "lb"),
        {"type": "DISTANCE", "value": 1.5, "unit": "km",
         "start_date": "2026-05-04T08:00:00Z", "end_date": "2026-05-04T08:20:00Z"},
        one("BODY_TEMPERATURE", 98.6, "degF"),
        one("BLOOD_GLUCOSE", 5.5, "mmol/L"),
        one("OXYGEN_SATURATION", 0.97, "fraction"),
        one("HEART_RATE", 60.0, "count/min"),
    ]});
    let response = user
        .post(&format!("/api/v1/devices/{device}/sync"), body)
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["synced"], 6);
    pipeline
        .wait_for_sql(
            &format!(
                "SELECT count(*) FROM samples WHERE user_id = '{}'",
                user.user_id
            ),
            "6",
        )
        .await;
    let client = db(&pipeline).await;
    let rows = client
        .query(
            "SELECT sample_type, value FROM samples WHERE user_id = $1::text::uuid",
            &[&user.user_id],
        )
        .await
        .unwrap();
    let stored = |t: &str| -> f64 {
        rows.iter()
            .find(|r| r.get::<_, String>(0) == t)
            .map(|r| r.get(1))
            .unwrap_or_else(|| panic!("no {t} row"))
    };
    let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
    assert!(close(stored("WEIGHT"), 176.0 * 0.453_592_37), "kg");
    assert!(close(stored("DISTANCE"), 1500.0), "m");
    assert!(close(stored("BODY_TEMPERATURE"), 37.0), "degC");
    assert!(close(stored("BLOOD_GLUCOSE"), 5.5 * 18.0156), "mg/dL");
    assert!(close(stored("OXYGEN_SATURATION"), 97.0), "%");
    assert!(close(stored("HEART_RATE"), 60.0), "bpm");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_validation_rule_is_reported_by_index_and_valid_samples_are_still_accepted() {
    let pipeline = Pipeline::without_processor().await;
    let user = pipeline.new_user("UTC").await;
    let device = user.device("iphone", "phone").await;
    let future = (Utc::now() + TimeDelta::minutes(30)).to_rfc3339();
    let recent = (Utc::now() - TimeDelta::minutes(5)).to_rfc3339();
    let soon = (Utc::now() + TimeDelta::minutes(5)).to_rfc3339();
    let body = json!({"samples": [
        steps(100.0, "2026-05-04T08:00:00Z", "2026-05-04T08:10:00Z"),               // 0 valid
        {"type": "PULSE", "value": 70, "unit": "bpm",
         "start_date": "2026-05-04T08:00:00Z", "end_date": "2026-05-04T08:00:00Z"},  // 1 type
        {"type": "HEART_RATE", "value": 70, "unit": "Hz",
         "start_date": "2026-05-04T08:00:00Z", "end_date": "2026-05-04T08:00:00Z"},  // 2 unit
        {"type": "HEART_RATE", "value": 900, "unit": "bpm",
         "start_date": "2026-05-04T08:00:00Z", "end_date": "2026-05-04T08:00:00Z"},  // 3 range
        steps(10.0, "2026-05-04T09:00:00Z", "2026-05-04T08:00:00Z"),               // 4 end < start
        steps(10.0, "2026-05-04T09:00:00Z", &future),                              // 5 future
        steps(10.0, "1999-12-31T23:00:00Z", "1999-12-31T23:30:00Z"),               // 6 too early
        steps(10.0, "2026-05-01T00:00:00Z", "2026-05-04T00:00:00Z"),               // 7 too long
        {"type": "STEPS", "value": "ten", "unit": "count",
         "start_date": "2026-05-04T08:00:00Z", "end_date": "2026-05-04T08:00:00Z"},  // 8 not a number
        steps(-5.0, "2026-05-04T08:00:00Z", "2026-05-04T08:10:00Z"),               // 9 range
        steps(20.0, &recent, &soon),                                               // 10 valid: skew
    ]});
    let response = user
        .post(&format!("/api/v1/devices/{device}/sync"), body)
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["synced"], 2, "{body}");
    assert_eq!(body["errors"], 9, "{body}");
    let details = body["error_details"].as_array().unwrap();
    let expect = [
        (1, "unknown sample type"),
        (2, "unit \"Hz\" is not accepted"),
        (3, "outside the plausible range"),
        (4, "is before start"),
        (5, "after the current time"),
        (6, "is before 2000-01-01"),
        (7, "longer than"),
        (8, "invalid type"),
        (9, "outside the plausible range"),
    ];
    assert_eq!(details.len(), expect.len(), "{body}");
    for ((index, words), detail) in expect.iter().zip(details) {
        assert_eq!(detail["index"], *index, "{detail}");
        let message = detail["error"].as_str().unwrap();
        assert!(message.contains(words), "sample {index}: {message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sync_without_a_valid_sample_is_a_422_with_the_same_body() {
    let pipeline = Pipeline::without_processor().await;
    let user = pipeline.new_user("UTC").await;
    let device = user.device("iphone", "phone").await;
    let before = events(&pipeline).await;
    let response = user
        .post(
            &format!("/api/v1/devices/{device}/sync"),
            json!({"samples": [
                steps(10.0, "2026-05-04T09:00:00Z", "2026-05-04T08:00:00Z"),
                {"type": "STEPS", "value": 1, "unit": "furlong",
                 "start_date": "2026-05-04T08:00:00Z", "end_date": "2026-05-04T08:00:00Z"},
            ]}),
        )
        .await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["synced"], 0);
    assert_eq!(body["errors"], 2);
    assert_eq!(body["error_details"][0]["index"], 0);
    assert_eq!(body["error_details"][1]["index"], 1);
    assert_eq!(events(&pipeline).await, before, "nothing appended");

    // The rejection reasons are counted by their stable codes.
    let metrics = pipeline
        .http
        .get(pipeline.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for code in ["end_before_start", "unknown_unit"] {
        let line = format!("healthpipe_gateway_samples_total{{outcome=\"{code}\"}}");
        assert!(metrics.contains(&line), "{line} missing from:\n{metrics}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn too_many_samples_or_too_large_a_body_is_a_413_and_malformed_json_a_400() {
    let pipeline = Pipeline::without_processor().await;
    let user = pipeline.new_user("UTC").await;
    let device = user.device("iphone", "phone").await;
    let path = format!("/api/v1/devices/{device}/sync");

    let sample = steps(1.0, "2026-05-04T08:00:00Z", "2026-05-04T08:01:00Z");
    let response = user
        .post(&path, json!({"samples": vec![sample; 10_001]}))
        .await;
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "payload_too_large"
    );

    // A Content-Length over 5 MiB is answered before a byte of the body is sent.
    let addr = pipeline.base_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        user.token,
        5 * 1024 * 1024 + 1
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("answered without the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    let response = user
        .http
        .post(format!("{}{path}", pipeline.base_url))
        .bearer_auth(&user.token)
        .header("content-type", "application/json")
        .body("{\"samples\": [\n  {\"type\": \"STEPS\",, }]}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("line 2 column"), "{message}");
}

/// One STEPS sample in minute `minute` of 2026-05-04 08:00Z.
fn minute(minute: u32) -> Value {
    steps(
        1.0,
        &format!("2026-05-04T08:{minute:02}:00Z"),
        &format!("2026-05-04T08:{minute:02}:30Z"),
    )
}

/// `entries` metadata entries whose values are `value_chars` long.
fn metadata(entries: usize, value_chars: usize) -> Value {
    let map: serde_json::Map<String, Value> = (0..entries)
        .map(|k| (format!("key{k}"), json!("y".repeat(value_chars))))
        .collect();
    Value::Object(map)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlong_texts_are_rejected_and_an_event_the_log_cannot_take_is_a_413() {
    let pipeline = Pipeline::without_processor().await;
    let user = pipeline.new_user("UTC").await;
    let device = user.device("iphone", "phone").await;
    let mut long_app = minute(0);
    long_app["source_app"] = json!("a".repeat(257));
    let mut many_entries = minute(1);
    many_entries["metadata"] = metadata(65, 1);
    let mut long_key = minute(2);
    long_key["metadata"] = json!({"k".repeat(129): "v"});
    let mut long_value = minute(3);
    long_value["metadata"] = metadata(1, 1025);
    let mut at_the_caps = minute(4);
    at_the_caps["source_app"] = json!("a".repeat(256));
    at_the_caps["metadata"] = metadata(64, 1024);
    let body = json!({"samples": [long_app, many_entries, long_key, long_value, at_the_caps]});
    let response = user
        .post(&format!("/api/v1/devices/{device}/sync"), body)
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (body["synced"].as_u64(), body["errors"].as_u64()),
        (Some(1), Some(4)),
        "{body}"
    );
    let details = body["error_details"].as_array().unwrap();
    for (detail, field) in
        details
            .iter()
            .zip(["source_app", "metadata", "metadata", "metadata.key0"])
    {
        assert!(
            detail["error"].as_str().unwrap().starts_with(field),
            "{detail}"
        );
    }

    // Within the caps, twenty samples of 64 kB of metadata each make one event of 1.3 MB,
    // more than the log takes: a 413 that says what to do, and nothing appended.
    let before = events(&pipeline).await;
    let samples: Vec<Value> = (10..30)
        .map(|m| {
            let mut sample = minute(m);
            sample["metadata"] = metadata(64, 1000);
            sample
        })
        .collect();
    let response = user
        .post(
            &format!("/api/v1/devices/{device}/sync"),
            json!({"samples": samples}),
        )
        .await;
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "payload_too_large");
    assert!(
        body["message"].as_str().unwrap().contains("fewer samples"),
        "{body}"
    );
    assert_eq!(events(&pipeline).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_users_device_or_an_unknown_one_is_a_404() {
    let pipeline = Pipeline::without_processor().await;
    let alice = pipeline.new_user("UTC").await;
    let bob = pipeline.new_user("UTC").await;
    let device = alice.device("iphone", "alice-phone").await;
    let body = json!({"samples": [steps(1.0, "2026-05-04T08:00:00Z", "2026-05-04T08:01:00Z")]});
    let response = bob
        .post(&format!("/api/v1/devices/{device}/sync"), body.clone())
        .await;
    assert_eq!(response.status(), 404);
    let response = alice
        .post(
            &format!("/api/v1/devices/{}/sync", uuid::Uuid::new_v4()),
            body,
        )
        .await;
    assert_eq!(response.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn derived_ids_are_stable_client_ids_are_kept_and_sync_versions_replace() {
    let pipeline = Pipeline::start().await;
    let user = pipeline.new_user("UTC").await;
    let device = user.device("iphone", "phone").await;
    let same = steps(42.0, "2026-05-04T08:00:00Z", "2026-05-04T08:10:00Z");
    let client_id = uuid::Uuid::new_v4().to_string();
    let mut with_id = steps(7.0, "2026-05-04T09:00:00Z", "2026-05-04T09:10:00Z");
    with_id["id"] = json!(client_id);
    let versioned = |version: &str, value: f64| {
        let mut s = steps(value, "2026-05-04T10:00:00Z", "2026-05-04T10:10:00Z");
        s["metadata"] = json!({"sync_identifier": "hk-1", "sync_version": version});
        s
    };
    // Two different requests (different keys) carrying the same measurement without an id.
    for (key, samples) in [
        ("first", json!([same, with_id, versioned("1", 100.0)])),
        ("second", json!([same, versioned("2", 200.0)])),
    ] {
        let response = sync_with(
            &user,
            &device,
            &[("idempotency-key", key)],
            &json!({"samples": samples}),
        )
        .await;
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("idempotent-replayed").is_none());
    }
    pipeline
        .wait_for_sql(
            &format!(
                "SELECT string_agg(value::text, ',' ORDER BY start_time) FROM samples WHERE user_id = '{}'",
                user.user_id
            ),
            "42,7,200",
        )
        .await;
    let client = db(&pipeline).await;
    let kept = count(
        &client,
        &format!("SELECT count(*) FROM samples WHERE sample_id = '{client_id}'"),
    )
    .await;
    assert_eq!(kept, 1, "the client's id is the stored id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_with_the_same_key_gets_the_stored_answer_and_appends_nothing() {
    let pipeline = Pipeline::without_processor().await;
    let user = pipeline.new_user("UTC").await;
    let device = user.device("iphone", "phone").await;
    let body = json!({"samples": [
        steps(10.0, "2026-05-04T08:00:00Z", "2026-05-04T08:10:00Z"),
        steps(10.0, "2026-05-04T09:00:00Z", "2026-05-04T08:00:00Z"),
    ]});
    let start = events(&pipeline).await;
    let first = sync_with(&user, &device, &[("Idempotency-Key", "retry-1")], &body).await;
    assert_eq!(first.status(), 200);
    let first_body = first.bytes().await.unwrap();
    assert_eq!(events(&pipeline).await, start + 1);

    let again = sync_with(&user, &device, &[("Idempotency-Key", "retry-1")], &body).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.bytes().await.unwrap(), first_body);
    // The other header name is the same key.
    let again = sync_with(&user, &device, &[("X-Idempotency-Key", "retry-1")], &body).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(events(&pipeline).await, start + 1, "retries append nothing");

    // Same key, another body: refused, nothing appended.
    let other = json!({"samples": [steps(11.0, "2026-05-04T08:00:00Z", "2026-05-04T08:10:00Z")]});
    let response = sync_with(&user, &device, &[("Idempotency-Key", "retry-1")], &other).await;
    assert_eq!(response.status(), 422);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "unprocessable"
    );
    assert_eq!(events(&pipeline).await, start + 1);

    // X-Idempotency-Key alone works as a key of its own.
    let response = sync_with(&user, &device, &[("X-Idempotency-Key", "retry-2")], &other).await;
    assert_eq!(response.status(), 200);
    let response = sync_with(&user, &device, &[("X-Idempotency-Key", "retry-2")], &other).await;
    assert_eq!(response.headers()["idempotent-replayed"], "true");
    assert_eq!(events(&pipeline).await, start + 2);

    // Without a header the key is derived from device and body: an identical re-send is a
    // replay, a different body is new.
    let plain = json!({"samples": [steps(12.0, "2026-05-04T08:00:00Z", "2026-05-04T08:10:00Z")]});
    let response = sync_with(&user, &device, &[], &plain).await;
    assert!(response.headers().get("idempotent-replayed").is_none());
    let response = sync_with(&user, &device, &[], &plain).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["idempotent-replayed"], "true");
    assert_eq!(events(&pipeline).await, start + 3);

    // The all-invalid 422 is a final answer too.
    let invalid = json!({"samples": [steps(-1.0, "2026-05-04T08:00:00Z", "2026-05-04T08:10:00Z")]});
    let first = sync_with(&user, &device, &[("Idempotency-Key", "bad-1")], &invalid).await;
    assert_eq!(first.status(), 422);
    let again = sync_with(&user, &device, &[("Idempotency-Key", "bad-1")], &invalid).await;
    assert_eq!(again.status(), 422);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap()["errors"], 1);

    // Keys are per user: another user's identical key is not a replay.
    let other_user = pipeline.new_user("UTC").await;
    let other_device = other_user.device("iphone", "phone").await;
    let response = sync_with(
        &other_user,
        &other_device,
        &[("Idempotency-Key", "retry-1")],
        &body,
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("idempotent-replayed").is_none());

    // Only digests of the keys are stored.
    let client = db(&pipeline).await;
    let raw = count(
        &client,
        "SELECT count(*) FROM idempotency_keys WHERE position('retry-1'::bytea in key_hash) > 0 \
         OR key_hash = 'retry-1'::bytea",
    )
    .await;
    assert_eq!(raw, 0);
    let hashed = count(
        &client,
        "SELECT count(*) FROM idempotency_keys WHERE key_hash = sha256('retry-1'::bytea)",
    )
    .await;
    assert_eq!(hashed, 2, "one per user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_while_the_first_is_in_flight_is_a_409_and_abandoned_or_expired_keys_are_not() {
    let pipeline = Pipeline::without_processor().await;
    let user = pipeline.new_user("UTC").await;
    let device = user.device("iphone", "phone").await;
    let client = db(&pipeline).await;
    let body = json!({"samples": [steps(10.0, "2026-05-04T08:00:00Z", "2026-05-04T08:10:00Z")]});
    let bytes = serde_json::to_vec(&body).unwrap();
    let request: Vec<u8> = [
        format!("POST /api/v1/devices/{device}/sync\n").into_bytes(),
        bytes.clone(),
    ]
    .concat();
    // The first request holds the key: claimed, not settled.
    client
        .execute(
            "INSERT INTO idempotency_keys (user_id, key_hash, request_hash, state, claim_id) \
             VALUES ($1::text::uuid, sha256('held'::bytea), sha256($2), 'in_flight', gen_random_uuid())",
            &[&user.user_id, &request],
        )
        .await
        .unwrap();
    let start = events(&pipeline).await;
    let send = || async {
        user.http
            .post(format!("{}/api/v1/devices/{device}/sync", user.base_url))
            .bearer_auth(&user.token)
            .header("content-type", "application/json")
            .header("Idempotency-Key", "held")
            .body(bytes.clone())
            .send()
            .await
            .unwrap()
    };
    let response = send().await;
    assert_eq!(response.status(), 409);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "conflict");
    assert_eq!(events(&pipeline).await, start);

    // A claim whose owner died (older than any request can take) is taken over by a retry of
    // the same request: the retry is processed, once.
    client
        .execute(
            "UPDATE idempotency_keys SET created_at = now() - interval '10 minutes'",
            &[],
        )
        .await
        .unwrap();
    let response = send().await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("idempotent-replayed").is_none());
    assert_eq!(events(&pipeline).await, start + 1);
    let response = send().await;
    assert_eq!(response.headers()["idempotent-replayed"], "true");
    assert_eq!(events(&pipeline).await, start + 1);

    // A key older than 24 hours is absent: the request goes through again.
    client
        .execute(
            "UPDATE idempotency_keys SET created_at = now() - interval '25 hours'",
            &[],
        )
        .await
        .unwrap();
    // And a claim purges expired rows of anyone.
    client
        .execute(
            "INSERT INTO idempotency_keys (user_id, key_hash, request_hash, state, claim_id, status, response, created_at) \
             VALUES ($1::text::uuid, sha256('old'::bytea), sha256('x'::bytea), 'completed', gen_random_uuid(), 200, '{}'::bytea, now() - interval '2 days')",
            &[&user.user_id],
        )
        .await
        .unwrap();
    let response = send().await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("idempotent-replayed").is_none());
    assert_eq!(events(&pipeline).await, start + 2);
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM idempotency_keys WHERE key_hash = sha256('old'::bytea)"
        )
        .await,
        0,
        "expired rows are purged"
    );
    let state: String = client
        .query_one(
            "SELECT state FROM idempotency_keys WHERE key_hash = sha256('held'::bytea)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(state, "completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sample_deletions_are_idempotent_too() {
    let pipeline = Pipeline::without_processor().await;
    let user = pipeline.new_user("UTC").await;
    let start = events(&pipeline).await;
    let id = uuid::Uuid::new_v4().to_string();
    let delete = |key: &'static str, ids: Vec<String>| {
        let user = &user;
        async move {
            user.http
                .delete(format!("{}/api/v1/samples", user.base_url))
                .bearer_auth(&user.token)
                .header("Idempotency-Key", key)
                .json(&json!({"ids": ids}))
                .send()
                .await
                .unwrap()
        }
    };
    let first = delete("del-1", vec![id.clone()]).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.json::<Value>().await.unwrap(), json!({"deleted": 1}));
    let again = delete("del-1", vec![id.clone()]).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(events(&pipeline).await, start + 1);
    let other = delete("del-1", vec![uuid::Uuid::new_v4().to_string()]).await;
    assert_eq!(other.status(), 422);
    assert_eq!(events(&pipeline).await, start + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn when_kafka_cannot_take_the_samples_the_answer_is_503_and_a_retry_succeeds_once() {
    let pipeline = Pipeline::start().await;
    let user = pipeline.new_user("UTC").await;
    let device = user.device("iphone", "phone").await;

    // A gateway whose brokers do not answer, with a short produce timeout.
    let broken_url = pipeline
        .start_gateway_with(pipeline.gateway_config_without_kafka())
        .await;

    let body = json!({"samples": [steps(321.0, "2026-05-04T08:00:00Z", "2026-05-04T08:10:00Z")]});
    let start = events(&pipeline).await;
    let started = Instant::now();
    let response = user
        .http
        .post(format!("{broken_url}/api/v1/devices/{device}/sync"))
        .bearer_auth(&user.token)
        .header("Idempotency-Key", "durable-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(response.headers().contains_key("retry-after"));
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["error"], "unavailable");
    assert!(answer.get("synced").is_none(), "nothing is reported synced");
    assert_eq!(events(&pipeline).await, start, "nothing appended");
    let client = db(&pipeline).await;
    assert_eq!(
        count(&client, "SELECT count(*) FROM idempotency_keys").await,
        0,
        "the claim was released"
    );

    // The retry, with the same key, goes through the healthy gateway exactly once.
    let response = sync_with(&user, &device, &[("Idempotency-Key", "durable-1")], &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["synced"], 1);
    pipeline
        .wait_for_sql(
            &format!(
                "SELECT count(*) || ':' || sum(value) FROM samples WHERE user_id = '{}'",
                user.user_id
            ),
            "1:321",
        )
        .await;
}

/// Random bytes and headers at the real sync endpoint: every answer is a 2xx or 4xx, and the
/// gateway keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn arbitrary_bodies_and_headers_never_get_a_5xx() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    let pipeline = Pipeline::without_processor().await;
    let user = pipeline.new_user("UTC").await;
    let device = user.device("iphone", "phone").await;
    let url = format!("{}/api/v1/devices/{device}/sync", pipeline.base_url);
    let seed: u64 = std::env::var("HEALTHPIPE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    let mut rng = StdRng::seed_from_u64(seed);
    let valid = json!({"samples": [steps(5.0, "2026-05-04T08:00:00Z", "2026-05-04T08:10:00Z")]})
        .to_string()
        .into_bytes();
    let fragments: [&[u8]; 12] = [
        b"{",
        b"}",
        b"[",
        b"]",
        b"\"samples\"",
        b":",
        b",",
        b"null",
        b"1e999",
        b"\"\\u0000\"",
        b"{\"type\":\"STEPS\"}",
        b"\xff\xfe",
    ];
    for round in 0..200 {
        let body: Vec<u8> = match rng.random_range(0..4) {
            0 => (0..rng.random_range(0..300))
                .map(|_| rng.random())
                .collect(),
            1 => valid[..rng.random_range(0..valid.len())].to_vec(),
            2 => {
                let mut b = valid.clone();
                for _ in 0..rng.random_range(1..6) {
                    let i = rng.random_range(0..b.len());
                    b[i] = rng.random();
                }
                b
            }
            _ => (0..rng.random_range(0..30))
                .flat_map(|_| fragments[rng.random_range(0..fragments.len())].to_vec())
                .collect(),
        };
        let mut request = pipeline.http.post(&url).body(body.clone());
        if rng.random_bool(0.9) {
            request = request.bearer_auth(&user.token);
        }
        let content_types = [
            "application/json",
            "text/plain",
            "application/x-www-form-urlencoded",
            "",
        ];
        let content_type = content_types[rng.random_range(0..content_types.len())];
        if !content_type.is_empty() {
            request = request.header("content-type", content_type);
        }
        if rng.random_bool(0.5) {
            let key: String = (0..rng.random_range(0..300))
                .map(|_| rng.random_range(0x20u8..0x7f) as char)
                .collect();
            let name = if rng.random_bool(0.5) {
                "Idempotency-Key"
            } else {
                "X-Idempotency-Key"
            };
            request = request.header(name, key);
        }
        if rng.random_bool(0.2) {
            let value: Vec<u8> = (0..rng.random_range(1..20))
                .map(|_| rng.random_range(0x20u8..0xff))
                .filter(|b| *b != 0x7f)
                .collect();
            if let Ok(value) = reqwest::header::HeaderValue::from_bytes(&value) {
                request = request.header("x-random", value);
            }
        }
        let response = request.send().await.unwrap_or_else(|e| {
            panic!("round {round} (seed {seed}): the gateway did not answer: {e}")
        });
        let status = response.status();
        assert!(
            status.is_success() || status.is_client_error(),
            "round {round} (seed {seed}): {status} for {:?}: {}",
            String::from_utf8_lossy(&body),
            response.text().await.unwrap_or_default()
        );
    }
    let health = pipeline
        .http
        .get(pipeline.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}
