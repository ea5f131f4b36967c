//! The read API on the real stack: `GET /api/v1/samples` (keyset pages without gaps or
//! repeats, counted fractions that agree with deduplication and the explain endpoint, only the
//! caller's samples), `GET /api/v1/summary` (a local day against the days of the week before
//! that have data, across a DST change) and the range limits of `GET /api/v1/aggregates`.
//! Every invalid parameter is a 400 naming it.

mod common;

use std::collections::{BTreeMap, HashSet};

use common::query::{bad_request, get_json, sample, sync};
use common::{Pipeline, Session};
use serde_json::{json, Value};
use uuid::Uuid;

/// Walks every page of `query` with `limit`; returns the pages.
async fn pages(user: &Session, query: &str, limit: usize) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/samples?{query}&limit={limit}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = get_json(user, &path).await;
        let samples = page["samples"].as_array().unwrap().clone();
        assert!(samples.len() <= limit, "{path}: {page}");
        pages.push(samples);
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
        assert!(pages.len() < 1000, "the pages never end");
    }
    pages
}

fn ids(samples: &[Value]) -> Vec<String> {
    samples
        .iter()
        .map(|s| s["sample_id"].as_str().unwrap().to_string())
        .collect()
}

/// `counted_fraction` by sample id.
fn fractions(samples: &[Value]) -> BTreeMap<String, f64> {
    samples
        .iter()
        .map(|s| {
            (
                s["sample_id"].as_str().unwrap().to_string(),
                s["counted_fraction"].as_f64().unwrap(),
            )
        })
        .collect()
}

async fn samples_count(pipeline: &Pipeline, user: &Session, expected: usize) {
    pipeline
        .wait_for_sql(
            &format!(
                "SELECT count(*) FROM samples WHERE user_id = '{}'",
                user.user_id
            ),
            &expected.to_string(),
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn samples_pages_have_no_gaps_or_repeats_and_hold_only_the_callers_samples() {
    let pipeline = Pipeline::start().await;
    let alice = pipeline.new_user("UTC").await;
    let bob = pipeline.new_user("UTC").await;
    let phone = alice.device("iphone", "alice-phone").await;
    let bobs_phone = bob.device("iphone", "bob-phone").await;

    // Five instants with five readings each, random ids: pages of 4 cut through every group
    // of samples sharing a start. Plus one reading just before `from` and one at `to`.
    let mut expected: Vec<(String, String)> = Vec::new();
    let mut body = Vec::new();
    for minute in [0, 10, 20, 30, 40] {
        let at = format!("2026-05-04T08:{minute:02}:00Z");
        for k in 0..5 {
            let id = Uuid::new_v4().to_string();
            body.push(sample(
                &id,
                "HEART_RATE",
                60.0 + f64::from(k),
                "count/min",
                &at,
                &at,
            ));
            expected.push((at.clone(), id));
        }
    }
    let early = Uuid::new_v4().to_string();
    let late = Uuid::new_v4().to_string();
    body.push(sample(
        &early,
        "HEART_RATE",
        70.0,
        "count/min",
        "2026-05-04T07:59:59Z",
        "2026-05-04T07:59:59Z",
    ));
    body.push(sample(
        &late,
        "HEART_RATE",
        70.0,
        "count/min",
        "2026-05-05T00:00:00Z",
        "2026-05-05T00:00:00Z",
    ));
    // Recorded at +02:00 by an app: its offset and source are kept.
    let local = Uuid::new_v4().to_string();
    let mut with_source = sample(
        &local,
        "HEART_RATE",
        64.0,
        "count/min",
        "2026-05-04T12:00:00+02:00",
        "2026-05-04T12:00:00+02:00",
    );
    with_source["source_app"] = json!("com.example.health");
    body.push(with_source);
    expected.push(("2026-05-04T10:00:00Z".into(), local.clone()));
    expected.sort();
    let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();
    sync(&alice, &phone, body).await;

    // Bob's readings at the very same instants.
    let bobs: Vec<Value> = (0..6)
        .map(|k| {
            let at = format!("2026-05-04T08:{:02}:00Z", k * 5);
            sample(
                &Uuid::new_v4().to_string(),
                "HEART_RATE",
                80.0,
                "count/min",
                &at,
                &at,
            )
        })
        .collect();
    let bobs_ids: Vec<String> = bobs
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    sync(&bob, &bobs_phone, bobs).await;
    samples_count(&pipeline, &alice, 28).await;
    samples_count(&pipeline, &bob, 6).await;

    let query = "type=HEART_RATE&from=2026-05-04T08:00:00Z&to=2026-05-04";
    for limit in [1, 4, 7, 25, 26, 100] {
        let walked = pages(&alice, query, limit).await;
        let all: Vec<String> = walked.iter().flat_map(|p| ids(p)).collect();
        assert_eq!(all, expected, "limit {limit}");
        // Full pages until the last; the last page is the one without a cursor, so a range
        // that fills its pages exactly ends without an empty page.
        let last = walked.len() - 1;
        for (i, page) in walked.iter().enumerate() {
            if i < last {
                assert_eq!(page.len(), limit, "limit {limit}, page {i}");
            } else {
                assert!(!page.is_empty() || expected.is_empty(), "limit {limit}");
            }
        }
        assert_eq!(
            walked.len(),
            expected.len().div_ceil(limit),
            "limit {limit}"
        );
    }
    // Without `limit`: 100.
    let page = get_json(&alice, &format!("/api/v1/samples?{query}")).await;
    assert_eq!(ids(page["samples"].as_array().unwrap()), expected);
    assert_eq!(page["next_cursor"], Value::Null);

    // Every field of one sample.
    let shown = page["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["sample_id"] == local.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        shown,
        json!({"sample_id": local, "device_id": phone, "device_type": "iphone",
            "type": "HEART_RATE", "value": 64.0, "unit": "bpm",
            "start": "2026-05-04T10:00:00Z", "end": "2026-05-04T10:00:00Z",
            "utc_offset_seconds": 7200, "source_app": "com.example.health",
            "counted_fraction": 1.0})
    );

    // Bob sees his six readings and nothing of Alice's, whatever the page size.
    for limit in [1, 4, 100] {
        let walked = pages(&bob, query, limit).await;
        let all: Vec<String> = walked.iter().flat_map(|p| ids(p)).collect();
        assert_eq!(all, bobs_ids, "limit {limit}");
        for s in walked.iter().flatten() {
            assert_eq!(s["device_id"], bobs_phone.as_str());
        }
    }
    // Alice's cursor in Bob's hands pages through Bob's samples only.
    let first = get_json(&alice, &format!("/api/v1/samples?{query}&limit=3")).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let after = get_json(&bob, &format!("/api/v1/samples?{query}&cursor={cursor}")).await;
    for s in after["samples"].as_array().unwrap() {
        assert!(bobs_ids.contains(&s["sample_id"].as_str().unwrap().to_string()));
    }
    // Another type has nothing.
    let steps = get_json(
        &alice,
        "/api/v1/samples?type=STEPS&from=2026-05-04&to=2026-05-04",
    )
    .await;
    assert_eq!(steps, json!({"samples": [], "next_cursor": null}));
}

const WATCH_STEPS: &str = "00000000-0000-4000-8000-000000000001";
const TRIMMED_STEPS: &str = "00000000-0000-4000-8000-000000000002";
const COVERED_STEPS: &str = "00000000-0000-4000-8000-000000000003";
const AFTERNOON_STEPS: &str = "00000000-0000-4000-8000-000000000004";
const AROUND_STEPS: &str = "00000000-0000-4000-8000-000000000005";
const WATCH_HR: &str = "00000000-0000-4000-8000-000000000011";
const COVERED_HR: &str = "00000000-0000-4000-8000-000000000012";
const LONE_HR: &str = "00000000-0000-4000-8000-000000000013";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn counted_fractions_follow_deduplication_and_agree_with_explain() {
    let pipeline = Pipeline::start().await;
    let user = pipeline.new_user("Europe/Berlin").await;
    let watch = user.device("apple_watch", "watch-1").await; // priority 100
    let phone = user.device("iphone", "phone-1").await; // priority 80

    sync(
        &user,
        &watch,
        vec![
            sample(
                WATCH_STEPS,
                "STEPS",
                600.0,
                "count",
                "2026-05-04T08:00:00Z",
                "2026-05-04T08:30:00Z",
            ),
            sample(
                WATCH_HR,
                "HEART_RATE",
                70.0,
                "count/min",
                "2026-05-04T08:00:00Z",
                "2026-05-04T08:20:00Z",
            ),
        ],
    )
    .await;
    sync(
        &user,
        &phone,
        vec![
            // The second half of its 30 minutes is the phone's alone: 0.5.
            sample(
                TRIMMED_STEPS,
                "STEPS",
                450.0,
                "count",
                "2026-05-04T08:15:00Z",
                "2026-05-04T08:45:00Z",
            ),
            // Entirely under the watch: 0.
            sample(
                COVERED_STEPS,
                "STEPS",
                100.0,
                "count",
                "2026-05-04T08:05:00Z",
                "2026-05-04T08:25:00Z",
            ),
            // Nobody else in the afternoon: 1.
            sample(
                AFTERNOON_STEPS,
                "STEPS",
                1200.0,
                "count",
                "2026-05-04T12:00:00Z",
                "2026-05-04T14:00:00Z",
            ),
            // 50 minutes around the watch's 30: 20 of 50 minutes count, 0.4 (200 of 500 steps).
            sample(
                AROUND_STEPS,
                "STEPS",
                500.0,
                "count",
                "2026-05-04T07:50:00Z",
                "2026-05-04T08:40:00Z",
            ),
            // A reading inside the watch's heart-rate range is dropped; one outside it is kept.
            sample(
                COVERED_HR,
                "HEART_RATE",
                75.0,
                "count/min",
                "2026-05-04T08:10:00Z",
                "2026-05-04T08:10:00Z",
            ),
            sample(
                LONE_HR,
                "HEART_RATE",
                72.0,
                "count/min",
                "2026-05-04T09:00:00Z",
                "2026-05-04T09:00:00Z",
            ),
        ],
    )
    .await;
    samples_count(&pipeline, &user, 8).await;

    let day = "from=2026-05-04&to=2026-05-04";
    let steps = get_json(&user, &format!("/api/v1/samples?type=STEPS&{day}")).await;
    let steps = steps["samples"].as_array().unwrap();
    let expected: BTreeMap<String, f64> = [
        (WATCH_STEPS, 1.0),
        (TRIMMED_STEPS, 0.5),
        (COVERED_STEPS, 0.0),
        (AFTERNOON_STEPS, 1.0),
        (AROUND_STEPS, 0.4),
    ]
    .into_iter()
    .map(|(id, f)| (id.to_string(), f))
    .collect();
    let got = fractions(steps);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (id, f) in &expected {
        assert!((got[id] - f).abs() < 1e-12, "{id}: {} against {f}", got[id]);
    }
    // The devices' types come from the registry.
    let types: HashSet<(&str, &str)> = steps
        .iter()
        .map(|s| {
            (
                s["device_id"].as_str().unwrap(),
                s["device_type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        types,
        HashSet::from([(watch.as_str(), "apple_watch"), (phone.as_str(), "iphone")])
    );

    // The very numbers of the explain endpoint, to the bit.
    for (sample_type, listed_in_hour) in [("STEPS", 4), ("HEART_RATE", 2)] {
        let hour = "2026-05-04T08:00:00Z";
        let explained = get_json(
            &user,
            &format!(
                "/api/v1/aggregates/explain?type={sample_type}&period=hour&period_start={hour}"
            ),
        )
        .await;
        let listed = get_json(&user, &format!("/api/v1/samples?type={sample_type}&{day}")).await;
        let listed = fractions(listed["samples"].as_array().unwrap());
        let explained = explained["samples"].as_array().unwrap();
        assert_eq!(explained.len(), listed_in_hour, "{explained:?}");
        for s in explained {
            let id = s["id"].as_str().unwrap();
            assert_eq!(
                listed[id],
                s["counted_fraction"].as_f64().unwrap(),
                "{sample_type} {id}"
            );
        }
    }

    // Heart rate: the watch and the lone reading count, the covered reading does not.
    let hr = get_json(&user, &format!("/api/v1/samples?type=HEART_RATE&{day}")).await;
    assert_eq!(
        fractions(hr["samples"].as_array().unwrap()),
        BTreeMap::from([
            (WATCH_HR.to_string(), 1.0),
            (COVERED_HR.to_string(), 0.0),
            (LONE_HR.to_string(), 1.0),
        ])
    );

    // A page holding one sample deduplicates it against its neighbours all the same.
    let walked = pages(&user, &format!("type=STEPS&{day}"), 1).await;
    assert_eq!(walked.len(), 5);
    assert_eq!(fractions(&walked.concat()), got);
    // So does a range that starts after the watch's sample: it still trims the phone.
    let later = get_json(
        &user,
        "/api/v1/samples?type=STEPS&from=2026-05-04T08:10:00Z&to=2026-05-04T09:00:00Z",
    )
    .await;
    assert_eq!(
        fractions(later["samples"].as_array().unwrap()),
        BTreeMap::from([(TRIMMED_STEPS.to_string(), 0.5)])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_bad_parameter_of_samples_and_aggregates_is_a_400_naming_it() {
    let pipeline = Pipeline::without_processor().await;
    let user = pipeline.new_user("Europe/Berlin").await;

    let ok = "type=STEPS&from=2026-05-01&to=2026-05-31";
    let valid_cursor = "0000000000000000".to_string() + &"0".repeat(32);
    for (query, parameter) in [
        ("from=2026-05-01&to=2026-05-02", "type"),
        ("type=STAIRS&from=2026-05-01&to=2026-05-02", "type"),
        ("type=STEPS&to=2026-05-02", "from"),
        ("type=STEPS&from=yesterday&to=2026-05-02", "from"),
        ("type=STEPS&from=0999-01-01&to=2026-05-02", "from"),
        ("type=STEPS&from=2026-05-01", "to"),
        ("type=STEPS&from=2026-05-01&to=2026-05-02T25:00:00Z", "to"),
        ("type=STEPS&from=2026-05-02&to=2026-05-01", "to"),
        (
            "type=STEPS&from=2026-05-01T00:00:00Z&to=2026-05-01T00:00:00Z",
            "to",
        ),
        ("type=STEPS&from=2026-05-01&to=2026-06-01", "to"),
        (
            "type=STEPS&from=2026-05-01T00:00:00Z&to=2026-06-01T00:00:01Z",
            "to",
        ),
        (&format!("{ok}&limit=0"), "limit"),
        (&format!("{ok}&limit=1001"), "limit"),
        (&format!("{ok}&limit=ten"), "limit"),
        (&format!("{ok}&limit=-1"), "limit"),
        (&format!("{ok}&cursor=zz"), "cursor"),
        (&format!("{ok}&cursor="), "cursor"),
        (&format!("{ok}&cursor={}", &valid_cursor[..46]), "cursor"),
        // Well-formed, but its time lies centuries outside the years a query may name.
        (&format!("{ok}&cursor=ff{}", &valid_cursor[2..]), "cursor"),
    ] {
        bad_request(&user, &format!("/api/v1/samples?{query}"), parameter).await;
    }
    let message = bad_request(
        &user,
        "/api/v1/samples?type=STEPS&from=2026-05-01&to=2026-06-01",
        "to",
    )
    .await;
    assert!(message.contains("at most 31 days"), "{message}");
    // 31 days, as dates or instants, and the largest page are fine.
    for query in [
        ok.to_string(),
        "type=STEPS&from=2026-05-01T00:00:00Z&to=2026-06-01T00:00:00Z".into(),
        format!("{ok}&limit=1000&cursor={valid_cursor}"),
        format!("{ok}&limit=1"),
    ] {
        let page = get_json(&user, &format!("/api/v1/samples?{query}")).await;
        assert_eq!(page, json!({"samples": [], "next_cursor": null}), "{query}");
    }

    // Aggregates: more than 31 days of hours is refused with the limit; 31 days are not, nor
    // are more days of days.
    let message = bad_request(
        &user,
        "/api/v1/aggregates?type=STEPS&period=hour&from=2026-05-01T00:00:00Z&to=2026-06-01T00:00:01Z",
        "to",
    )
    .await;
    assert!(message.contains("at most 31 days"), "{message}");
    bad_request(
        &user,
        "/api/v1/aggregates?type=STEPS&period=hour&from=2026-05-01&to=2026-06-01",
        "to",
    )
    .await;
    for query in [
        "period=hour&from=2026-05-01T00:00:00Z&to=2026-06-01T00:00:00Z",
        "period=hour&from=2026-05-01&to=2026-05-31",
        "period=day&from=2026-01-01&to=2026-06-01",
    ] {
        let rows = get_json(&user, &format!("/api/v1/aggregates?type=STEPS&{query}")).await;
        assert_eq!(rows, json!([]), "{query}");
    }

    // The summary's date.
    for query in [
        "",
        "?date=",
        "?date=yesterday",
        "?date=2026-13-01",
        "?date=2026-02-30",
        "?date=0999-12-31",
        "?date=2026-05-04T00:00:00Z",
    ] {
        bad_request(&user, &format!("/api/v1/summary{query}"), "date").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_summary_compares_a_local_day_with_the_days_of_the_week_before_that_have_data() {
    let pipeline = Pipeline::start().await;
    let alice = pipeline.new_user("Europe/Berlin").await;
    let bob = pipeline.new_user("UTC").await;
    let phone = alice.device("iphone", "alice-phone").await;
    let bobs_phone = bob.device("iphone", "bob-phone").await;
    let id = || Uuid::new_v4().to_string();
    let steps =
        |value: f64, start: &str, end: &str| sample(&id(), "STEPS", value, "count", start, end);

    // Berlin leaves summer time on 2026-10-25 at 03:00 CEST: that local day starts at
    // 2026-10-24T22:00Z and lasts 25 hours, to 2026-10-25T23:00Z.
    sync(
        &alice,
        &phone,
        vec![
            // Eight days before the 25th: outside its week.
            steps(10_000.0, "2026-10-17T10:00:00Z", "2026-10-17T10:30:00Z"),
            steps(1_000.0, "2026-10-18T10:00:00Z", "2026-10-18T10:30:00Z"),
            steps(2_000.0, "2026-10-20T10:00:00Z", "2026-10-20T10:30:00Z"),
            steps(3_000.0, "2026-10-24T10:00:00Z", "2026-10-24T10:30:00Z"),
            steps(4_000.0, "2026-10-25T10:00:00Z", "2026-10-25T10:30:00Z"),
            // 23:30 local time on the 25th, in its 25th hour.
            steps(500.0, "2026-10-25T22:30:00Z", "2026-10-25T22:45:00Z"),
            steps(900.0, "2026-10-26T10:00:00Z", "2026-10-26T10:30:00Z"),
            // A mean of 0: no percentage.
            sample(
                &id(),
                "FLIGHTS_CLIMBED",
                0.0,
                "count",
                "2026-10-24T10:00:00Z",
                "2026-10-24T10:05:00Z",
            ),
            sample(
                &id(),
                "FLIGHTS_CLIMBED",
                5.0,
                "count",
                "2026-10-25T10:00:00Z",
                "2026-10-25T10:05:00Z",
            ),
            // No earlier day: no mean.
            sample(
                &id(),
                "HEART_RATE",
                60.0,
                "count/min",
                "2026-10-25T10:00:00Z",
                "2026-10-25T10:00:00Z",
            ),
            // Only the day before: not in the 25th's summary.
            sample(
                &id(),
                "DISTANCE",
                800.0,
                "m",
                "2026-10-24T10:00:00Z",
                "2026-10-24T10:10:00Z",
            ),
        ],
    )
    .await;
    sync(
        &bob,
        &bobs_phone,
        vec![steps(
            7_000.0,
            "2026-10-25T10:00:00Z",
            "2026-10-25T10:30:00Z",
        )],
    )
    .await;
    let day_rows = |user: &Session| {
        format!(
            "SELECT count(*) FROM aggregates WHERE user_id = '{}' AND period = 'day'",
            user.user_id
        )
    };
    pipeline.wait_for_sql(&day_rows(&alice), "10").await;
    pipeline.wait_for_sql(&day_rows(&bob), "1").await;

    let summary = get_json(&alice, "/api/v1/summary?date=2026-10-25").await;
    assert_eq!(
        summary,
        json!({"date": "2026-10-25", "timezone": "Europe/Berlin", "types": [
            {"type": "FLIGHTS_CLIMBED", "unit": "count", "value": 5.0, "mean_7d": 0.0,
             "change": 5.0, "change_percent": null, "days_in_mean": 1},
            {"type": "HEART_RATE", "unit": "bpm", "value": 60.0, "mean_7d": null,
             "change": null, "change_percent": null, "days_in_mean": 0},
            {"type": "STEPS", "unit": "count", "value": 4500.0, "mean_7d": 2000.0,
             "change": 2500.0, "change_percent": 125.0, "days_in_mean": 3},
        ]})
    );

    // The day after the change starts an hour later in UTC (23:00Z); its week reaches back
    // over the 25-hour day to the 19th.
    let mean = (2_000.0 + 3_000.0 + 4_500.0) / 3.0;
    let summary = get_json(&alice, "/api/v1/summary?date=2026-10-26").await;
    assert_eq!(
        summary["types"],
        json!([{"type": "STEPS", "unit": "count", "value": 900.0, "mean_7d": mean,
            "change": 900.0 - mean, "change_percent": (900.0 - mean) / mean * 100.0,
            "days_in_mean": 3}])
    );

    // A day without data; and Bob, in UTC, sees his day only.
    let quiet = get_json(&alice, "/api/v1/summary?date=2026-10-19").await;
    assert_eq!(
        quiet,
        json!({"date": "2026-10-19", "timezone": "Europe/Berlin", "types": []})
    );
    let bobs = get_json(&bob, "/api/v1/summary?date=2026-10-25").await;
    assert_eq!(
        bobs,
        json!({"date": "2026-10-25", "timezone": "UTC", "types": [
            {"type": "STEPS", "unit": "count", "value": 7000.0, "mean_7d": null,
             "change": null, "change_percent": null, "days_in_mean": 0}]})
    );
}
