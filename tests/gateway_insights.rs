//! Insights on the real stack: `GET /api/v1/insights` (newest first, acknowledgement joined per
//! user, the `unread` filter and `limit`) and `POST /api/v1/insights/{id}/acknowledge` (the
//! `InsightAcknowledged` event is in Kafka when the answer is 200; anything but one of the
//! caller's insights is the same 404).
//!
//! The insights are fixture rows in the test's own `insights` table (the insights processor's
//! table); acknowledgements the processor would have projected are fixture rows too. The
//! aggregation processor does not project `InsightAcknowledged` yet, so the tests read the
//! event back from the topic.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use common::query::{bad_request, db, get_json};
use common::{Pipeline, Session};
use healthpipe_schemas::{EventCodec, InsightAcknowledged, Opened, UserEvent};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::{json, Value};
use uuid::Uuid;

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
}

/// Stores one insight of `user`, created the day before its update.
async fn insight(
    client: &tokio_postgres::Client,
    user: &Session,
    kind: &str,
    status: &str,
    direction: Option<&str>,
    updated_at: DateTime<Utc>,
) -> Uuid {
    let id = Uuid::new_v4();
    let user_id: Uuid = user.user_id.parse().unwrap();
    let data = json!({"kind": kind, "values": [1.5, 2.5]});
    client
        .execute(
            "INSERT INTO insights (user_id, insight_id, rule_key, insight_type, severity, status, \
             direction, message, recommendation, data, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'warning', $5, $6, $7, $8, $9, $10, $11)",
            &[
                &user_id,
                &id,
                &format!("{kind}/{id}"),
                &kind,
                &status,
                &direction,
                &format!("{kind} message"),
                &format!("{kind} recommendation"),
                &data,
                &(updated_at - chrono::TimeDelta::days(1)),
                &updated_at,
            ],
        )
        .await
        .unwrap();
    id
}

/// Stores an acknowledgement as the processor projects it.
async fn acknowledgement(
    client: &tokio_postgres::Client,
    user: &Session,
    insight: Uuid,
    when: DateTime<Utc>,
) {
    let user_id: Uuid = user.user_id.parse().unwrap();
    client
        .execute(
            "INSERT INTO insight_acknowledgements (user_id, insight_id, acknowledged_at) \
             VALUES ($1, $2, $3)",
            &[&user_id, &insight, &when],
        )
        .await
        .unwrap();
}

fn ids(list: &Value) -> Vec<String> {
    list["insights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

fn strings(ids: &[Uuid]) -> Vec<String> {
    ids.iter().map(Uuid::to_string).collect()
}

async fn acknowledge(user: &Session, id: &str) -> (u16, Value) {
    let response = user
        .http
        .post(format!(
            "{}/api/v1/insights/{id}/acknowledge",
            user.base_url
        ))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Every `InsightAcknowledged` event on the user-event topic, with its key: every partition
/// read from its start to its end.
async fn acknowledged_events(pipeline: &Pipeline) -> Vec<(String, InsightAcknowledged)> {
    let topic = pipeline.topics.user_events.clone();
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &pipeline.kafka_brokers)
        .set("group.id", common::unique("insight-reader"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let timeout = Duration::from_secs(10);
    let metadata = consumer.fetch_metadata(Some(&topic), timeout).unwrap();
    let partitions: Vec<i32> = metadata.topics()[0]
        .partitions()
        .iter()
        .map(|p| p.id())
        .collect();
    assert!(!partitions.is_empty(), "{topic} has partitions");
    let mut assignment = TopicPartitionList::new();
    let mut ends: HashMap<i32, i64> = HashMap::new();
    for &partition in &partitions {
        let (_, end) = consumer
            .fetch_watermarks(&topic, partition, timeout)
            .unwrap();
        if end > 0 {
            ends.insert(partition, end);
            assignment
                .add_partition_offset(&topic, partition, Offset::Beginning)
                .unwrap();
        }
    }
    consumer.assign(&assignment).unwrap();
    let codec = EventCodec::new(&pipeline.registry_url);
    let mut events = Vec::new();
    while !ends.is_empty() {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .expect("the topic's messages arrive")
            .unwrap();
        if ends.get(&message.partition()) == Some(&(message.offset() + 1)) {
            ends.remove(&message.partition());
        }
        let key = String::from_utf8(message.key().unwrap().to_vec()).unwrap();
        let ring = pipeline.keyring(&[&key]).await;
        if let Opened::Event(UserEvent::InsightAcknowledged(e)) = codec
            .decode_user_event(message.payload().unwrap(), &ring)
            .await
            .unwrap()
        {
            events.push((key, e));
        }
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn insights_are_listed_newest_first_with_the_callers_acknowledgements_only() {
    let pipeline = Pipeline::without_processor().await;
    let alice = pipeline.new_user("Europe/Berlin").await;
    let bob = pipeline.new_user("UTC").await;
    let client = db(&pipeline).await;

    let oldest = insight(&client, &alice, "LOW_OXYGEN", "resolved", None, at(20, 6)).await;
    let newest = insight(
        &client,
        &alice,
        "ACTIVITY_CHANGE",
        "active",
        Some("down"),
        at(27, 6),
    )
    .await;
    let read = insight(
        &client,
        &alice,
        "HEART_RATE_TREND",
        "active",
        Some("up"),
        at(25, 6),
    )
    .await;
    let middle = insight(&client, &alice, "SLEEP_CHANGE", "active", None, at(22, 6)).await;
    let bobs = insight(
        &client,
        &bob,
        "ACTIVITY_CHANGE",
        "active",
        Some("up"),
        at(28, 6),
    )
    .await;
    acknowledgement(&client, &alice, read, at(26, 8)).await;
    // Bob's acknowledgement of Alice's insight's id acknowledges nothing of hers.
    acknowledgement(&client, &bob, oldest, at(26, 9)).await;

    let all = get_json(&alice, "/api/v1/insights").await;
    assert_eq!(ids(&all), strings(&[newest, read, middle, oldest]));
    assert_eq!(
        all["insights"][0],
        json!({"id": newest, "type": "ACTIVITY_CHANGE", "severity": "warning",
            "status": "active", "direction": "down", "message": "ACTIVITY_CHANGE message",
            "recommendation": "ACTIVITY_CHANGE recommendation",
            "data": {"kind": "ACTIVITY_CHANGE", "values": [1.5, 2.5]},
            "created_at": "2026-11-26T06:00:00Z", "updated_at": "2026-11-27T06:00:00Z",
            "acknowledged": false, "acknowledged_at": null})
    );
    assert_eq!(
        (
            &all["insights"][1]["acknowledged"],
            &all["insights"][1]["acknowledged_at"]
        ),
        (&json!(true), &json!("2026-11-26T08:00:00Z"))
    );
    assert_eq!(
        (
            &all["insights"][3]["status"],
            &all["insights"][3]["direction"],
            &all["insights"][3]["acknowledged"]
        ),
        (&json!("resolved"), &Value::Null, &json!(false))
    );

    let unread = get_json(&alice, "/api/v1/insights?unread=true").await;
    assert_eq!(ids(&unread), strings(&[newest, middle, oldest]));
    let acknowledged = get_json(&alice, "/api/v1/insights?unread=false").await;
    assert_eq!(ids(&acknowledged), strings(&[read]));
    let two = get_json(&alice, "/api/v1/insights?limit=2").await;
    assert_eq!(ids(&two), strings(&[newest, read]));
    let one = get_json(&alice, "/api/v1/insights?unread=true&limit=1").await;
    assert_eq!(ids(&one), strings(&[newest]));
    let many = get_json(&alice, "/api/v1/insights?limit=500").await;
    assert_eq!(ids(&many).len(), 4);

    // Bob sees his one insight, unacknowledged; none of Alice's.
    let his = get_json(&bob, "/api/v1/insights").await;
    assert_eq!(ids(&his), strings(&[bobs]));
    assert_eq!(his["insights"][0]["acknowledged"], json!(false));
    assert_eq!(
        ids(&get_json(&bob, "/api/v1/insights?unread=false").await),
        Vec::<String>::new()
    );

    for (query, parameter) in [
        ("unread=yes", "unread"),
        ("unread=", "unread"),
        ("unread=TRUE", "unread"),
        ("unread=1", "unread"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=many", "limit"),
        ("unread=true&limit=-3", "limit"),
    ] {
        bad_request(&alice, &format!("/api/v1/insights?{query}"), parameter).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledging_appends_the_event_and_never_reveals_another_users_insight() {
    let pipeline = Pipeline::without_processor().await;
    let alice = pipeline.new_user("Europe/Berlin").await;
    let bob = pipeline.new_user("UTC").await;
    let client = db(&pipeline).await;
    let unread = insight(
        &client,
        &alice,
        "ACTIVITY_CHANGE",
        "active",
        Some("down"),
        at(27, 6),
    )
    .await;
    let read = insight(&client, &alice, "LOW_OXYGEN", "active", None, at(25, 6)).await;
    acknowledgement(&client, &alice, read, at(26, 8)).await;
    let bobs = insight(
        &client,
        &bob,
        "ACTIVITY_CHANGE",
        "active",
        Some("up"),
        at(28, 6),
    )
    .await;

    // Bob's insight, an unknown id and no id at all: the same 404, nothing appended.
    let not_found = json!({"error": "not_found", "message": "insight not found"});
    for id in [
        bobs.to_string(),
        Uuid::new_v4().to_string(),
        "not-an-id".to_string(),
    ] {
        assert_eq!(
            acknowledge(&alice, &id).await,
            (404, not_found.clone()),
            "{id}"
        );
    }

    let before = Utc::now();
    let (status, body) = acknowledge(&alice, &unread.to_string()).await;
    let after = Utc::now();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["insight_id"], json!(unread));
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    let acknowledged_at: DateTime<Utc> = body["acknowledged_at"].as_str().unwrap().parse().unwrap();
    assert!(
        before - chrono::TimeDelta::microseconds(1) <= acknowledged_at && acknowledged_at <= after
    );

    // Already acknowledged: the stored time, and nothing appended.
    assert_eq!(
        acknowledge(&alice, &read.to_string()).await,
        (
            200,
            json!({"insight_id": read, "acknowledged_at": "2026-11-26T08:00:00Z"})
        )
    );

    // The 200 came after Kafka acknowledged the event: it is on the topic, keyed by Alice.
    let events = acknowledged_events(&pipeline).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let (key, event) = &events[0];
    assert_eq!(key, &alice.user_id);
    assert_eq!(
        (&event.user_id, &event.insight_id, event.acknowledged_at),
        (
            &alice.user_id,
            &unread.to_string(),
            acknowledged_at.timestamp_micros()
        )
    );
    let event_id: Uuid = event.event_id.parse().unwrap();
    assert_eq!(event_id.get_version_num(), 4);

    // Bob acknowledges his own.
    let (status, body) = acknowledge(&bob, &bobs.to_string()).await;
    assert_eq!((status, &body["insight_id"]), (200, &json!(bobs)));
}
