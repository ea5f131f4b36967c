//! The walking skeleton, end to end on the real stack: samples posted to the gateway over
//! HTTP travel through Kafka (Avro, schema registry) to the aggregation processor, land in
//! TimescaleDB, and come back through the query API, deduplicated.

mod common;

use common::Pipeline;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn samples_flow_from_http_through_kafka_to_timescaledb_and_back() {
    let pipeline = Pipeline::start().await;
    let user = pipeline.new_user("Europe/Berlin").await;
    let watch = user.device("apple_watch", "watch-1").await;
    let phone = user.device("iphone", "phone-1").await;

    // The watch (priority 100) covers 08:00-08:30; the phone (80) covers 08:00-09:00.
    let response = user
        .post(
            &format!("/api/v1/devices/{watch}/sync"),
            json!({"samples": [{"type": "STEPS", "value": 600, "unit": "count",
                "start_date": "2026-05-04T10:00:00+02:00", "end_date": "2026-05-04T10:30:00+02:00"}]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"synced": 1, "errors": 0, "error_details": []}));
    let response = user
        .post(
            &format!("/api/v1/devices/{phone}/sync"),
            json!({"samples": [{"type": "STEPS", "value": 1000, "unit": "count",
                "start_date": "2026-05-04T08:00:00Z", "end_date": "2026-05-04T09:00:00Z"}]}),
        )
        .await;
    assert_eq!(response.status(), 200);

    // The phone counts only in the half hour the watch did not cover: 600 + 1000/2.
    pipeline
        .wait_for_sql(
            &format!(
                "SELECT value FROM aggregates WHERE user_id = '{}' AND sample_type = 'STEPS' AND period = 'day'",
                user.user_id
            ),
            "1100",
        )
        .await;
    let response = user
        .get("/api/v1/aggregates?type=STEPS&period=day&from=2026-05-04&to=2026-05-04")
        .await;
    assert_eq!(response.status(), 200);
    let rows: Value = response.json().await.unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    assert_eq!(rows[0]["value"], json!(1100.0));
    assert_eq!(rows[0]["sample_count"], json!(2));
    // Local midnight in Berlin (CEST) is 22:00 UTC the day before.
    assert_eq!(rows[0]["period_start"], json!("2026-05-03T22:00:00Z"));

    let hours: Value = user
        .get("/api/v1/aggregates?type=STEPS&period=hour&from=2026-05-04T00:00:00Z&to=2026-05-05T00:00:00Z")
        .await
        .json()
        .await
        .unwrap();
    let values: Vec<f64> = hours
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["value"].as_f64().unwrap())
        .collect();
    assert_eq!(values, vec![1100.0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_user_never_sees_another_users_aggregates() {
    let pipeline = Pipeline::start().await;
    let alice = pipeline.new_user("UTC").await;
    let bob = pipeline.new_user("UTC").await;
    let device = alice.device("iphone", "alice-phone").await;
    let response = alice
        .post(
            &format!("/api/v1/devices/{device}/sync"),
            json!({"samples": [{"type": "STEPS", "value": 42, "unit": "count",
                "start_date": "2026-05-04T08:00:00Z", "end_date": "2026-05-04T08:10:00Z"}]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    pipeline
        .wait_for_sql(
            &format!(
                "SELECT count(*) FROM aggregates WHERE user_id = '{}'",
                alice.user_id
            ),
            "4",
        )
        .await;
    let rows: Value = bob
        .get("/api/v1/aggregates?type=STEPS&period=day&from=2026-05-01&to=2026-05-31")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rows, json!([]));
    // Bob cannot sync into Alice's device either: it does not exist for him.
    let response = bob
        .post(
            &format!("/api/v1/devices/{device}/sync"),
            json!({"samples": []}),
        )
        .await;
    assert_eq!(response.status(), 404);
}
