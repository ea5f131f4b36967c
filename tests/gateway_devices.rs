//! The device registry at the gateway on the real stack: default priorities by type,
//! re-registration, ownership, and priority changes travelling as events to the processor's
//! `device_rankings`.

mod common;

use common::query::patch_device as patch;
use common::{Pipeline, Session};
use serde_json::{json, Value};

async fn register(user: &Session, body: Value) -> reqwest::Response {
    user.post("/api/v1/devices", body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn devices_get_their_types_default_priority_and_registering_again_returns_the_same() {
    let pipeline = Pipeline::without_processor().await;
    let user = pipeline.new_user("UTC").await;
    let defaults = [
        ("apple_watch", 100),
        ("iphone", 80),
        ("ipad", 70),
        ("third_party_wearable", 50),
        ("third_party_scale", 40),
        ("manual_entry", 10),
    ];
    for (device_type, priority) in defaults {
        let response = register(
            &user,
            json!({"device_type": device_type, "device_name": device_type, "device_identifier": device_type}),
        )
        .await;
        assert_eq!(response.status(), 201, "{device_type}");
        let device: Value = response.json().await.unwrap();
        assert_eq!(device["priority"], priority, "{device_type}");
        assert_eq!(device["device_type"], device_type);
        assert_eq!(device["type_priorities"], json!({}));
    }
    // The kinds are a closed set: another name is refused, naming the known ones, and no
    // device is registered.
    let response = register(
        &user,
        json!({"device_type": "smart_ring", "device_name": "Ring", "device_identifier": "ring"}),
    )
    .await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(message.starts_with("device_type:"), "{message}");
    assert!(message.contains("third_party_wearable"), "{message}");
    let listed: Value = user.get("/api/v1/devices").await.json().await.unwrap();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["device_identifier"] != "ring"),
        "{listed}"
    );

    // An explicit priority and per-type priorities are kept.
    let response = register(
        &user,
        json!({"device_type": "iphone", "device_name": "Work phone", "device_identifier": "work",
               "priority": 95, "type_priorities": {"STEPS": 20}}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let work: Value = response.json().await.unwrap();
    assert_eq!(work["priority"], 95);
    assert_eq!(work["type_priorities"], json!({"STEPS": 20}));

    // The same identifier again: 200 with the device as it is.
    let response = register(
        &user,
        json!({"device_type": "ipad", "device_name": "renamed", "device_identifier": "work"}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), work);

    let listed: Value = user.get("/api/v1/devices").await.json().await.unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), defaults.len() + 1);
    assert!(listed.contains(&work));

    // Rules of the fields.
    for bad in [
        json!({"device_type": "", "device_name": "x", "device_identifier": "y"}),
        json!({"device_type": "iphone", "device_name": "x"}),
        json!({"device_type": "iphone", "device_name": "x", "device_identifier": "z",
               "type_priorities": {"PULSE": 1}}),
        json!({"device_type": "iphone", "device_name": "x", "device_identifier": "z",
               "priority": 1.5}),
    ] {
        assert_eq!(register(&user, bad.clone()).await.status(), 422, "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_users_device_cannot_be_changed() {
    let pipeline = Pipeline::without_processor().await;
    let alice = pipeline.new_user("UTC").await;
    let bob = pipeline.new_user("UTC").await;
    let device = alice.device("iphone", "alice-phone").await;
    let response = patch(&bob, &device, json!({"priority": 1})).await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "not_found"
    );
    let listed: Value = bob.get("/api/v1/devices").await.json().await.unwrap();
    assert_eq!(listed, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_priority_change_is_an_event_the_processor_applies() {
    let pipeline = Pipeline::start().await;
    let user = pipeline.new_user("UTC").await;
    let device = user.device("iphone", "phone").await;
    pipeline
        .wait_for_sql(
            &format!("SELECT priority FROM device_rankings WHERE device_id = '{device}'"),
            "80",
        )
        .await;
    let response = patch(
        &user,
        &device,
        json!({"priority": 120, "type_priorities": {"HEART_RATE": 5}}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let changed: Value = response.json().await.unwrap();
    assert_eq!(changed["priority"], 120);
    assert_eq!(changed["type_priorities"], json!({"HEART_RATE": 5}));
    pipeline
        .wait_for_sql(
            &format!(
                "SELECT priority || ' ' || (type_priorities->>'HEART_RATE') FROM device_rankings \
                 WHERE device_id = '{device}'"
            ),
            "120 5",
        )
        .await;
    // An unknown type is refused and changes nothing.
    let response = patch(&user, &device, json!({"type_priorities": {"PULSE": 1}})).await;
    assert_eq!(response.status(), 422);
    let listed: Value = user.get("/api/v1/devices").await.json().await.unwrap();
    assert_eq!(listed[0]["priority"], 120);
}

/// Device and profile changes commit together with their events (an outbox), so no
/// transaction waits for Kafka and no event exists for a row that was never committed. When
/// Kafka cannot take the event, the answer is 503 saying the change is saved; the event then
/// reaches the log without being sent again: through the retry of the request, or through
/// the relay of any gateway on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_kafka_cannot_take_is_saved_and_its_event_appended_later() {
    let pipeline = Pipeline::start().await;
    let user = pipeline.new_user("UTC").await;
    let broken = pipeline
        .start_gateway_with(pipeline.gateway_config_without_kafka())
        .await;
    let device = json!({"device_type": "apple_watch", "device_name": "Watch",
        "device_identifier": "watch-outbox"});

    let answer = pipeline
        .http
        .post(format!("{broken}/api/v1/devices"))
        .bearer_auth(&user.token)
        .json(&device)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 503);
    let body: Value = answer.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("saved"),
        "{body}"
    );
    let pending = format!(
        "SELECT count(*) FROM event_outbox WHERE user_id = '{}'",
        user.user_id
    );
    pipeline.wait_for_sql(&pending, "1").await;

    // The retry finds the saved device and appends its event before answering.
    let retry = register(&user, device).await;
    assert_eq!(retry.status(), 200);
    let id = retry.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    pipeline.wait_for_sql(&pending, "0").await;
    pipeline
        .wait_for_sql(
            &format!("SELECT count(*) FROM device_rankings WHERE device_id = '{id}'"),
            "1",
        )
        .await;

    // A change nobody retries is appended by a relay on its own.
    let answer = pipeline
        .http
        .patch(format!("{broken}/api/v1/me"))
        .bearer_auth(&user.token)
        .json(&json!({"timezone": "Asia/Tokyo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 503);
    pipeline
        .wait_for_sql(
            &format!(
                "SELECT timezone FROM user_profiles WHERE user_id = '{}'",
                user.user_id
            ),
            "Asia/Tokyo",
        )
        .await;
    pipeline.wait_for_sql(&pending, "0").await;
}
