//! The explain API end to end: samples posted over HTTP are aggregated by the processor, and
//! `GET /api/v1/aggregates/explain` tells for one bucket which samples counted, how much and
//! why, with the same value and coverage as the stored aggregate.

mod common;

use common::query::{get_json, steps, sync};
use common::{Pipeline, Session};
use serde_json::{json, Value};

const WATCH_SAMPLE: &str = "00000000-0000-4000-8000-000000000001";
const TRIMMED_SAMPLE: &str = "00000000-0000-4000-8000-000000000002";
const COVERED_SAMPLE: &str = "00000000-0000-4000-8000-000000000003";
const AFTERNOON_SAMPLE: &str = "00000000-0000-4000-8000-000000000004";

/// Local 10:00 on 2026-05-04 in Berlin (CEST) is 08:00Z; the local day starts at 22:00Z.
const HOUR: &str = "2026-05-04T08:00:00Z";
const DAY: &str = "2026-05-03T22:00:00Z";

async fn explain(user: &Session, period: &str, start: &str) -> Value {
    get_json(
        user,
        &format!("/api/v1/aggregates/explain?type=STEPS&period={period}&period_start={start}"),
    )
    .await
}

/// The explained samples by id: (status, reason, counted_fraction, counted_value).
fn by_id(explanation: &Value, id: &str) -> (String, String, f64, f64) {
    let sample = explanation["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("sample {id} not listed in {explanation}"));
    (
        sample["status"].as_str().unwrap().to_string(),
        sample["reason"].as_str().unwrap().to_string(),
        sample["counted_fraction"].as_f64().unwrap(),
        sample["counted_value"].as_f64().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn explain_lists_what_counted_and_why_with_the_stored_value() {
    let pipeline = Pipeline::start().await;
    let user = pipeline.new_user("Europe/Berlin").await;
    let watch = user.device("apple_watch", "watch-1").await; // priority 100
    let phone = user.device("iphone", "phone-1").await; // priority 80

    sync(
        &user,
        &watch,
        vec![steps(
            WATCH_SAMPLE,
            600.0,
            "2026-05-04T08:00:00Z",
            "2026-05-04T08:30:00Z",
        )],
    )
    .await;
    sync(
        &user,
        &phone,
        vec![
            // Its first half lies under the watch: it keeps 225 of 450.
            steps(
                TRIMMED_SAMPLE,
                450.0,
                "2026-05-04T08:15:00Z",
                "2026-05-04T08:45:00Z",
            ),
            // Entirely under the watch: counts nothing.
            steps(
                COVERED_SAMPLE,
                100.0,
                "2026-05-04T08:05:00Z",
                "2026-05-04T08:25:00Z",
            ),
            // The phone alone in the afternoon: two more hours of the day covered.
            steps(
                AFTERNOON_SAMPLE,
                1200.0,
                "2026-05-04T12:00:00Z",
                "2026-05-04T14:00:00Z",
            ),
        ],
    )
    .await;
    pipeline
        .wait_for_sql(
            &format!(
                "SELECT value FROM aggregates WHERE user_id = '{}' AND sample_type = 'STEPS' \
                 AND period = 'day'",
                user.user_id
            ),
            "2025",
        )
        .await;

    // The hour: 600 + 225, 45 of its 60 minutes covered, by two devices.
    let hour = explain(&user, "hour", HOUR).await;
    assert_eq!(
        (
            &hour["type"],
            &hour["period"],
            &hour["period_start"],
            &hour["period_end"]
        ),
        (
            &json!("STEPS"),
            &json!("hour"),
            &json!(HOUR),
            &json!("2026-05-04T09:00:00Z")
        )
    );
    assert_eq!(hour["value"], json!(825.0));
    assert_eq!(
        (
            &hour["min_value"],
            &hour["max_value"],
            &hour["sample_count"]
        ),
        (&json!(225.0), &json!(600.0), &json!(2))
    );
    assert_eq!(
        hour["coverage"],
        json!({"time_fraction": 0.75, "devices": 2})
    );
    assert_eq!(
        by_id(&hour, WATCH_SAMPLE),
        ("kept".into(), "kept".into(), 1.0, 600.0)
    );
    assert_eq!(
        by_id(&hour, TRIMMED_SAMPLE),
        ("trimmed".into(), "trimmed by watch-1".into(), 0.5, 225.0)
    );
    assert_eq!(
        by_id(&hour, COVERED_SAMPLE),
        (
            "dropped".into(),
            "dropped: covered by watch-1".into(),
            0.0,
            0.0
        )
    );
    // The afternoon sample does not reach this hour.
    assert_eq!(hour["samples"].as_array().unwrap().len(), 3, "{hour}");
    let watch_sample = &hour["samples"][0];
    assert_eq!(
        (
            &watch_sample["id"],
            &watch_sample["device_id"],
            &watch_sample["device_name"],
            &watch_sample["priority"],
            &watch_sample["value"],
            &watch_sample["start_date"],
            &watch_sample["end_date"],
        ),
        (
            &json!(WATCH_SAMPLE),
            &json!(watch),
            &json!("watch-1"),
            &json!(100),
            &json!(600.0),
            &json!("2026-05-04T08:00:00Z"),
            &json!("2026-05-04T08:30:00Z"),
        )
    );
    assert_eq!(by_id(&hour, TRIMMED_SAMPLE).0, "trimmed");
    let phone_priorities: Vec<&Value> = hour["samples"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["device_id"] == phone.as_str())
        .map(|s| &s["priority"])
        .collect();
    assert_eq!(phone_priorities, [&json!(80), &json!(80)]);

    // The day: all four samples, 45 min + 2 h of its 24 hours covered.
    let day = explain(&user, "day", DAY).await;
    assert_eq!(day["value"], json!(2025.0));
    assert_eq!(day["sample_count"], json!(3));
    let fraction = day["coverage"]["time_fraction"].as_f64().unwrap();
    assert!((fraction - 165.0 / 1440.0).abs() < 1e-12, "{day}");
    assert_eq!(day["coverage"]["devices"], json!(2));
    assert_eq!(day["samples"].as_array().unwrap().len(), 4, "{day}");
    assert_eq!(
        by_id(&day, AFTERNOON_SAMPLE),
        ("kept".into(), "kept".into(), 1.0, 1200.0)
    );

    // The same value and coverage as the query API's stored rows.
    for (period, explained, from, to) in [
        ("hour", &hour, HOUR, "2026-05-04T09:00:00Z"),
        ("day", &day, "2026-05-04", "2026-05-04"),
    ] {
        let rows = get_json(
            &user,
            &format!("/api/v1/aggregates?type=STEPS&period={period}&from={from}&to={to}"),
        )
        .await;
        assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
        let stored = &rows[0];
        assert_eq!(stored["period_start"], explained["period_start"]);
        for field in [
            "value",
            "min_value",
            "max_value",
            "sample_count",
            "coverage",
        ] {
            assert_eq!(stored[field], explained[field], "{period} {field}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn explain_rejects_bad_parameters_and_shows_only_the_callers_samples() {
    let pipeline = Pipeline::start().await;
    let alice = pipeline.new_user("Europe/Berlin").await;
    let bob = pipeline.new_user("Europe/Berlin").await;
    let watch = alice.device("apple_watch", "alice-watch").await;
    sync(
        &alice,
        &watch,
        vec![steps(
            WATCH_SAMPLE,
            600.0,
            "2026-05-04T08:00:00Z",
            "2026-05-04T08:30:00Z",
        )],
    )
    .await;
    pipeline
        .wait_for_sql(
            &format!(
                "SELECT count(*) FROM aggregates WHERE user_id = '{}'",
                alice.user_id
            ),
            "4",
        )
        .await;

    for (query, names) in [
        // 08:30Z is inside an hour; UTC midnight is not Berlin's midnight.
        (
            "type=STEPS&period=hour&period_start=2026-05-04T08:30:00Z",
            "period_start",
        ),
        (
            "type=STEPS&period=day&period_start=2026-05-04T00:00:00Z",
            "period_start",
        ),
        (
            "type=STEPS&period=day&period_start=2026-05-04",
            "period_start",
        ),
        ("type=STEPS&period=day", "period_start"),
        (
            "type=STEPS&period=year&period_start=2026-05-03T22:00:00Z",
            "period",
        ),
        (
            "type=STAIRS&period=day&period_start=2026-05-03T22:00:00Z",
            "type",
        ),
        ("period=day&period_start=2026-05-03T22:00:00Z", "type"),
    ] {
        let response = alice
            .get(&format!("/api/v1/aggregates/explain?{query}"))
            .await;
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "bad_request", "{query}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("{names}:")),
            "{query}: {message}"
        );
    }
    let response = alice
        .get("/api/v1/aggregates/explain?type=STEPS&period=day&period_start=2026-05-04T00:00:00Z")
        .await;
    let body: Value = response.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("starts at 2026-05-03T22:00:00Z"),
        "{body}"
    );

    // Alice sees her sample; Bob, asking for the very same bucket, sees nothing of hers.
    let mine = explain(&alice, "day", DAY).await;
    assert_eq!(mine["samples"].as_array().unwrap().len(), 1, "{mine}");
    let theirs = explain(&bob, "day", DAY).await;
    assert_eq!(theirs["samples"], json!([]));
    assert_eq!(
        (
            &theirs["value"],
            &theirs["min_value"],
            &theirs["max_value"],
            &theirs["sample_count"]
        ),
        (&Value::Null, &Value::Null, &Value::Null, &json!(0))
    );
    assert_eq!(
        theirs["coverage"],
        json!({"time_fraction": 0.0, "devices": 0})
    );

    // Without a session there is nothing to explain.
    let response = pipeline
        .http
        .get(pipeline.url(&format!(
            "/api/v1/aggregates/explain?type=STEPS&period=day&period_start={DAY}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}
