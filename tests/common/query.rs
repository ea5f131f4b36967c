//! Helpers of the gateway tests (`gateway_query`, `gateway_insights`, `gateway_devices`,
//! `gateway_read_consistency`): syncing samples, changing priorities, reading answers, checking 400s.

use serde_json::{json, Value};

use super::{Pipeline, Session};

/// A direct connection to the test's database, for fixtures and checks.
pub async fn db(pipeline: &Pipeline) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(
        &pipeline.database_url,
        healthpipe_storage::pool::tls().expect("TLS connector"),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    client
}

/// One sample of a sync body with an explicit id.
pub fn sample(
    id: &str,
    sample_type: &str,
    value: f64,
    unit: &str,
    start: &str,
    end: &str,
) -> Value {
    json!({"id": id, "type": sample_type, "value": value, "unit": unit,
        "start_date": start, "end_date": end})
}

/// A step count over [`start`, `end`] with an explicit id.
pub fn steps(id: &str, value: f64, start: &str, end: &str) -> Value {
    sample(id, "STEPS", value, "count", start, end)
}

/// Syncs `samples` from `device`; every one must be accepted.
pub async fn sync(user: &Session, device: &str, samples: Vec<Value>) {
    let count = samples.len();
    let response = user
        .post(
            &format!("/api/v1/devices/{device}/sync"),
            json!({ "samples": samples }),
        )
        .await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "sync: {body}");
    assert_eq!(body["synced"], json!(count), "sync: {body}");
}

/// `PATCH path` with the JSON `body`, as `user`.
pub async fn patch(user: &Session, path: &str, body: Value) -> reqwest::Response {
    user.http
        .patch(format!("{}{path}", user.base_url))
        .bearer_auth(&user.token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// `PATCH /api/v1/devices/{device}` with `body`.
pub async fn patch_device(user: &Session, device: &str, body: Value) -> reqwest::Response {
    patch(user, &format!("/api/v1/devices/{device}"), body).await
}

/// GETs `path` and returns the JSON of a 200.
pub async fn get_json(user: &Session, path: &str) -> Value {
    let response = user.get(path).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// GETs `path` and checks the answer is a 400 whose message starts with `parameter: `;
/// returns the message.
pub async fn bad_request(user: &Session, path: &str, parameter: &str) -> String {
    let response = user.get(path).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 400, "{path}: {body}");
    assert_eq!(body["error"], "bad_request", "{path}: {body}");
    let message = body["message"].as_str().unwrap().to_string();
    assert!(
        message.starts_with(&format!("{parameter}: ")),
        "{path}: {message}"
    );
    message
}
