//! Events that change stored aggregates after the fact recompute exactly the right buckets,
//! on the real stack: a device priority change flips which device wins where devices overlap,
//! and a late upload (a day a week ago, after today's data) fills in its own buckets. In each
//! case the stored rows equal the pure expectation (`healthpipe_domain::aggregate_user`)
//! before and after, and the rows that changed are exactly those the expectation says.
//!
//! A deletion (`DELETE /api/v1/samples`) recomputes the buckets of the deleted samples, and
//! lets what they hid count again; re-sending a deleted sample does not bring it back. A higher
//! sync version arriving in a later batch replaces the stored sample of the lower version.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration as Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use common::seeded::{domain_sample, ranking_from_gateway};
use common::*;
use healthpipe::workload::{generate, UserSpec};
use healthpipe_domain::{
    aggregate_user, bucket_start, next_bucket_start, DeviceRanking, Period, Sample,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_priority_change_recomputes_the_buckets_where_the_winner_changes() {
    let mut rng = StdRng::seed_from_u64(41);
    let pipeline = Pipeline::start().await;
    let tz = chrono_tz::Europe::Berlin;
    let user = pipeline.new_user(tz.name()).await;
    let watch = user.device("apple_watch", "watch-1").await;
    let phone = user.device("iphone", "phone-1").await;
    let today = Utc::now().with_timezone(&tz).date_naive();
    let d1 = today - Days::days(5);
    let d2 = today - Days::days(4);
    let at = |day: NaiveDate, h: u32, m: u32| local(tz, day, h, m);

    let mut samples = Vec::new();
    // Day 1: the watch (100) and the phone (80) overlap 10:00-10:30; the phone alone
    // covers 10:30-11:00 and 14:00-14:20.
    let mut watch_sync = vec![
        steps(&mut rng, 600.0, at(d1, 10, 0), at(d1, 10, 30)),
        // Day 2: the watch alone.
        steps(&mut rng, 900.0, at(d2, 9, 0), at(d2, 9, 45)),
    ];
    let phone_sync = vec![
        steps(&mut rng, 1000.0, at(d1, 10, 0), at(d1, 11, 0)),
        steps(&mut rng, 300.0, at(d1, 14, 0), at(d1, 14, 20)),
    ];
    // Heart rate from the watch only, both days: a type nobody competes for.
    for day in [d1, d2] {
        for (h, bpm) in [(8, 61.0), (10, 95.0), (12, 72.0)] {
            watch_sync.push(heart_rate(&mut rng, bpm, at(day, h, 5)));
        }
    }
    samples.extend(sync(&user, &watch, &watch_sync).await);
    samples.extend(sync(&user, &phone, &phone_sync).await);

    let mut ranking = DeviceRanking::new();
    ranking
        .set_priority(watch.as_str(), 100)
        .set_priority(phone.as_str(), 80);
    pipeline.settle_aggregation().await;
    let before = stored(&pipeline, &user).await;
    let expected_before = expected(&samples, &ranking, tz);
    assert_rows_equal(&expected_before, &before, "before");
    let key = |t: &str, p: Period, start| (t.to_string(), p.as_str().to_string(), start);
    let d1_steps = key("STEPS", Period::Day, at(d1, 0, 0));
    let d1_ten = key("STEPS", Period::Hour, at(d1, 10, 0));
    // The watch wins the overlap: 600 + the phone's uncovered half (500) + 300.
    assert_eq!(before[&d1_steps].value, 1400.0, "{:?}", before[&d1_steps]);
    assert_eq!(before[&d1_ten].value, 1100.0, "{:?}", before[&d1_ten]);

    // The phone now outranks the watch.
    let response = pipeline
        .http
        .patch(pipeline.url(&format!("/api/v1/devices/{phone}")))
        .bearer_auth(&user.token)
        .json(&json!({"priority": 120}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    ranking.set_priority(phone.as_str(), 120);
    pipeline.settle_aggregation().await;
    let after = stored(&pipeline, &user).await;
    let expected_after = expected(&samples, &ranking, tz);
    assert_rows_equal(&expected_after, &after, "after the priority change");
    // The phone's hour counts whole and covers the watch's samples: 1000 + 300.
    assert_eq!(after[&d1_steps].value, 1300.0, "{:?}", after[&d1_steps]);
    assert_eq!(after[&d1_ten].value, 1000.0, "{:?}", after[&d1_ten]);

    let changed = changed_keys(&before, &after);
    assert_eq!(
        changed,
        changed_keys(&expected_before, &expected_after),
        "the rows that changed are not those the expectation says"
    );
    // Only step buckets that contain day 1 changed: its hours and day, and the week and
    // month holding it. Day 2's step rows and every heart-rate row are untouched.
    assert!(!changed.is_empty());
    for (t, p, start) in &changed {
        assert_eq!(t, "STEPS", "a {t} row changed: {p} {start}");
        let end = next_bucket_start(period(p), *start, tz);
        assert!(
            *start < at(d1 + Days::days(1), 0, 0) && at(d1, 0, 0) < end,
            "a {p} bucket outside day 1 changed: {start}"
        );
    }
    for k in [&d1_steps, &d1_ten] {
        assert!(changed.contains(k), "{k:?} did not change");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_late_upload_updates_exactly_the_buckets_of_its_day() {
    let mut rng = StdRng::seed_from_u64(42);
    let pipeline = Pipeline::start().await;
    let tz = chrono_tz::America::New_York;
    let user = pipeline.new_user(tz.name()).await;
    // "Today" is two days ago, so that the night's sleep has ended; the late day is a week
    // earlier.
    let today = Utc::now().with_timezone(&tz).date_naive() - Days::days(2);
    let late_day = today - Days::days(7);
    let day_of = |first_day| {
        generate(&UserSpec {
            seed: 7,
            timezone: tz,
            first_day,
            days: 1,
            heart_rate_every_minutes: 5,
        })
    };
    let mut devices = Vec::new();
    for device in day_of(today) {
        devices.push(user.device(device.device_type, &device.identifier).await);
    }
    let ranking = ranking_from_gateway(&user).await;

    let mut samples = Vec::new();
    for (device, generated) in devices.iter().zip(day_of(today)) {
        let sent = with_ids(&mut rng, generated.samples);
        samples.extend(sync(&user, device, &sent).await);
    }
    pipeline.settle_aggregation().await;
    let before = stored(&pipeline, &user).await;
    assert_rows_equal(&expected(&samples, &ranking, tz), &before, "today's upload");

    let mut late = Vec::new();
    for (device, generated) in devices.iter().zip(day_of(late_day)) {
        let sent = with_ids(&mut rng, generated.samples);
        late.extend(sync(&user, device, &sent).await);
    }
    let late_from = late.iter().map(|s| s.start).min().unwrap();
    let late_to = late.iter().map(|s| s.end).max().unwrap();
    let expected_before = expected(&samples, &ranking, tz);
    samples.extend(late);
    pipeline.settle_aggregation().await;
    let after = stored(&pipeline, &user).await;
    let expected_after = expected(&samples, &ranking, tz);
    assert_rows_equal(&expected_after, &after, "after the late upload");

    let changed = changed_keys(&before, &after);
    assert_eq!(
        changed,
        changed_keys(&expected_before, &expected_after),
        "the rows that changed are not those the expectation says"
    );
    // Every changed row is a bucket the late samples reach; today's hours and day are as
    // they were, and the late day has its own hour, day and week rows now.
    for (t, p, start) in &changed {
        let end = next_bucket_start(period(p), *start, tz);
        assert!(
            *start <= late_to && late_from < end,
            "{t} {p} {start} changed, but no late sample reaches it ({late_from} .. {late_to})"
        );
    }
    let today_start = local(tz, today, 0, 0);
    let today_rows = before
        .iter()
        .filter(|((_, p, start), _)| (p == "hour" || p == "day") && *start >= today_start)
        .count();
    assert!(today_rows > 16, "only {today_rows} hour/day rows for today");
    for ((t, p, start), row) in &before {
        if (p == "hour" || p == "day") && *start >= today_start {
            assert_eq!(
                after.get(&(t.clone(), p.clone(), *start)),
                Some(row),
                "{t} {p} {start}"
            );
        }
    }
    let late_noon = local(tz, late_day, 12, 0);
    for (t, p) in [
        ("HEART_RATE", Period::Hour),
        ("STEPS", Period::Day),
        ("STEPS", Period::Week),
        ("HEART_RATE", Period::Day),
        ("WEIGHT", Period::Day),
    ] {
        let key = (
            t.to_string(),
            p.as_str().to_string(),
            bucket_start(p, late_noon, tz),
        );
        assert!(changed.contains(&key), "{key:?} did not change");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deletion_recomputes_the_buckets_of_the_deleted_samples() {
    let mut rng = StdRng::seed_from_u64(43);
    let pipeline = Pipeline::start().await;
    let tz = chrono_tz::Asia::Kolkata;
    let user = pipeline.new_user(tz.name()).await;
    let watch = user.device("apple_watch", "watch-1").await;
    let phone = user.device("iphone", "phone-1").await;
    let today = Utc::now().with_timezone(&tz).date_naive();
    let d1 = today - Days::days(6);
    let d2 = today - Days::days(5);
    let at = |day: NaiveDate, h: u32, m: u32| local(tz, day, h, m);

    // Day 1: the watch's steps hide half of the phone's; two heart-rate readings.
    let watch_steps = steps(&mut rng, 600.0, at(d1, 10, 0), at(d1, 10, 30));
    let noon_heart_rate = heart_rate(&mut rng, 70.0, at(d1, 12, 5));
    let watch_sync = vec![
        watch_steps.clone(),
        heart_rate(&mut rng, 90.0, at(d1, 10, 5)),
        noon_heart_rate.clone(),
        // Day 2: untouched by the deletion.
        steps(&mut rng, 900.0, at(d2, 9, 0), at(d2, 9, 45)),
        heart_rate(&mut rng, 64.0, at(d2, 12, 5)),
    ];
    let phone_sync = vec![steps(&mut rng, 1000.0, at(d1, 10, 0), at(d1, 11, 0))];
    let mut samples = sync(&user, &watch, &watch_sync).await;
    samples.extend(sync(&user, &phone, &phone_sync).await);
    let ranking = ranking_from_gateway(&user).await;
    pipeline.settle_aggregation().await;
    let before = stored(&pipeline, &user).await;
    let expected_before = expected(&samples, &ranking, tz);
    assert_rows_equal(&expected_before, &before, "before");
    let key = |t: &str, p: Period, start| (t.to_string(), p.as_str().to_string(), start);
    let d1_ten = key("STEPS", Period::Hour, at(d1, 10, 0));
    let d1_noon = key("HEART_RATE", Period::Hour, at(d1, 12, 0));
    assert_eq!(before[&d1_ten].value, 1100.0, "{:?}", before[&d1_ten]);
    assert!(before.contains_key(&d1_noon));

    let ids: Vec<&str> = [&watch_steps, &noon_heart_rate]
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    let response = pipeline
        .http
        .delete(pipeline.url("/api/v1/samples"))
        .bearer_auth(&user.token)
        .json(&json!({ "ids": ids }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    pipeline.settle_aggregation().await;
    let after = stored(&pipeline, &user).await;
    let deleted: std::collections::HashSet<String> = ids.iter().map(|s| s.to_string()).collect();
    let expected_after = expected_without(&samples, &deleted, &ranking, tz);
    assert_rows_equal(&expected_after, &after, "after the deletion");
    // The phone's hour now counts whole; the noon reading's hour is gone.
    assert_eq!(after[&d1_ten].value, 1000.0, "{:?}", after[&d1_ten]);
    assert!(!after.contains_key(&d1_noon), "{:?}", after.get(&d1_noon));
    let changed = changed_keys(&before, &after);
    assert_eq!(
        changed,
        changed_keys(&expected_before, &expected_after),
        "the rows that changed are not those the expectation says"
    );
    for (t, p, start) in &changed {
        let end = next_bucket_start(period(p), *start, tz);
        assert!(
            *start < at(d1 + Days::days(1), 0, 0) && at(d1, 0, 0) < end,
            "a {t} {p} bucket outside day 1 changed: {start}"
        );
    }

    // Re-sending a deleted sample (same id) does not bring it back.
    let again = sync(&user, &watch, std::slice::from_ref(&watch_steps)).await;
    assert_eq!(again.len(), 1);
    pipeline.settle_aggregation().await;
    assert_rows_equal(
        &expected_after,
        &stored(&pipeline, &user).await,
        "after the re-send",
    );
    let (client, connection) = tokio_postgres::connect(
        &pipeline.database_url,
        healthpipe_storage::pool::tls().expect("TLS connector"),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let user_id: Uuid = user.user_id.parse().unwrap();
    let id_list: Vec<Uuid> = ids.iter().map(|s| s.parse().unwrap()).collect();
    let left: i64 = client
        .query_one(
            "SELECT count(*) FROM samples WHERE user_id = $1 AND sample_id = ANY($2)",
            &[&user_id, &id_list],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "deleted samples are still stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_higher_sync_version_in_a_later_batch_replaces_the_stored_sample() {
    let mut rng = StdRng::seed_from_u64(44);
    let pipeline = Pipeline::start().await;
    let tz = chrono_tz::UTC;
    let user = pipeline.new_user(tz.name()).await;
    let watch = user.device("apple_watch", "watch-1").await;
    let ranking = ranking_from_gateway(&user).await;
    let day = Utc::now().date_naive() - Days::days(3);
    let versioned = |rng: &mut StdRng, version: u32, bpm: f64| {
        let mut s = heart_rate(rng, bpm, local(tz, day, 9, 0));
        s["metadata"] = json!({"sync_identifier": "hk-hr-1", "sync_version": version.to_string()});
        s
    };
    let v1 = versioned(&mut rng, 1, 50.0);
    let v2 = versioned(&mut rng, 2, 60.0);
    let v1_again = versioned(&mut rng, 1, 70.0);
    let other = heart_rate(&mut rng, 80.0, local(tz, day, 9, 30));
    // Each upload is applied before the next is sent, so they are in different batches.
    let stored_v1 = sync(&user, &watch, &[v1.clone(), other.clone()]).await;
    pipeline.settle_aggregation().await;
    assert_rows_equal(
        &expected(&stored_v1, &ranking, tz),
        &stored(&pipeline, &user).await,
        "version 1",
    );
    let stored_v2 = sync(&user, &watch, std::slice::from_ref(&v2)).await;
    pipeline.settle_aggregation().await;
    sync(&user, &watch, &[v1_again]).await;
    pipeline.settle_aggregation().await;
    let current = [stored_v2, vec![stored_v1[1].clone()]].concat();
    let after = stored(&pipeline, &user).await;
    assert_rows_equal(&expected(&current, &ranking, tz), &after, "version 2");
    let hour = (
        "HEART_RATE".to_string(),
        "hour".to_string(),
        local(tz, day, 9, 0),
    );
    assert_eq!(
        (after[&hour].value, after[&hour].count),
        (70.0, 2),
        "{:?}",
        after[&hour]
    );

    let (client, connection) = tokio_postgres::connect(
        &pipeline.database_url,
        healthpipe_storage::pool::tls().expect("TLS connector"),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let user_id: Uuid = user.user_id.parse().unwrap();
    let ids: Vec<String> = client
        .query(
            "SELECT sample_id::text FROM samples WHERE user_id = $1 ORDER BY value",
            &[&user_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let want: Vec<String> = [&v2, &other]
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        ids, want,
        "stored samples: version 2 and the unversioned one"
    );
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

type Key = (String, String, DateTime<Utc>);

#[derive(Debug, Clone, Copy, PartialEq)]
struct Row {
    value: f64,
    min: f64,
    max: f64,
    count: i64,
}

/// A time-zone change re-buckets the whole history. Fifteen months are more than the processor
/// holds in memory at once (it works a month of buckets at a time, in bounded groups), and the
/// result is still exactly the pure aggregation of every sample in the new zone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_time_zone_change_rebuckets_a_long_history_exactly() {
    let mut rng = StdRng::seed_from_u64(11);
    let pipeline = Pipeline::start().await;
    let user = pipeline.new_user("UTC").await;
    let watch = user.device("apple_watch", "watch-tz").await;
    let phone = user.device("iphone", "phone-tz").await;
    let ranking = ranking_from_gateway(&user).await;
    let first = Utc::now().date_naive() - Days::days(460);
    let mut samples = Vec::new();
    for (device, minutes, value) in [(&watch, (30, 59), 100.0), (&phone, (0, 50), 200.0)] {
        let sent: Vec<Value> = (0..450)
            .map(|i| {
                let day = first + Days::days(i);
                let start = local(chrono_tz::UTC, day, 23, minutes.0);
                let end = local(chrono_tz::UTC, day, 23, minutes.1);
                steps(&mut rng, value, start, end)
            })
            .collect();
        samples.extend(sync(&user, device, &sent).await);
    }
    pipeline.settle_aggregation().await;
    let utc_rows = stored(&pipeline, &user).await;
    assert_rows_equal(
        &expected(&samples, &ranking, chrono_tz::UTC),
        &utc_rows,
        "in UTC",
    );

    let tokyo = chrono_tz::Asia::Tokyo;
    let response = pipeline
        .http
        .patch(pipeline.url("/api/v1/me"))
        .bearer_auth(&user.token)
        .json(&json!({"timezone": tokyo.name()}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    pipeline.settle_aggregation().await;
    let tokyo_rows = stored(&pipeline, &user).await;
    assert_rows_equal(
        &expected(&samples, &ranking, tokyo),
        &tokyo_rows,
        "in Tokyo",
    );
    // 23:00 UTC is 08:00 the next day in Tokyo: every day moved.
    assert!(changed_keys(&utc_rows, &tokyo_rows).len() > 450 * 2);
}

fn local(tz: Tz, day: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    tz.from_local_datetime(&day.and_hms_opt(h, m, 0).unwrap())
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

fn period(name: &str) -> Period {
    match name {
        "hour" => Period::Hour,
        "day" => Period::Day,
        "week" => Period::Week,
        "month" => Period::Month,
        other => panic!("unknown period {other}"),
    }
}

fn new_id(rng: &mut StdRng) -> String {
    uuid::Builder::from_random_bytes(rng.random())
        .into_uuid()
        .to_string()
}

fn steps(rng: &mut StdRng, value: f64, start: DateTime<Utc>, end: DateTime<Utc>) -> Value {
    json!({"id": new_id(rng), "type": "STEPS", "value": value, "unit": "count",
           "start_date": start.to_rfc3339(), "end_date": end.to_rfc3339()})
}

fn heart_rate(rng: &mut StdRng, bpm: f64, at: DateTime<Utc>) -> Value {
    json!({"id": new_id(rng), "type": "HEART_RATE", "value": bpm, "unit": "count/min",
           "start_date": at.to_rfc3339(), "end_date": at.to_rfc3339()})
}

fn with_ids(rng: &mut StdRng, samples: Vec<Value>) -> Vec<Value> {
    samples
        .into_iter()
        .map(|mut s| {
            s["id"] = json!(new_id(rng));
            s
        })
        .collect()
}

/// Syncs `samples` (each with an `id`) to `device`; returns them as the domain sees them.
async fn sync(user: &Session, device: &str, samples: &[Value]) -> Vec<Sample> {
    let response = user
        .post(
            &format!("/api/v1/devices/{device}/sync"),
            json!({ "samples": samples }),
        )
        .await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "sync: {body}");
    assert_eq!(
        body["synced"].as_u64(),
        Some(samples.len() as u64),
        "sync: {body}"
    );
    let now = Utc::now();
    samples
        .iter()
        .map(|json| domain_sample(json, json["id"].as_str().unwrap(), device, now))
        .collect()
}

fn expected(samples: &[Sample], ranking: &DeviceRanking, tz: Tz) -> BTreeMap<Key, Row> {
    expected_without(samples, &Default::default(), ranking, tz)
}

fn expected_without(
    samples: &[Sample],
    deleted: &std::collections::HashSet<String>,
    ranking: &DeviceRanking,
    tz: Tz,
) -> BTreeMap<Key, Row> {
    aggregate_user(samples, deleted, ranking, tz)
        .into_iter()
        .map(|r| {
            (
                (
                    r.sample_type.as_str().to_string(),
                    r.period.as_str().to_string(),
                    r.period_start,
                ),
                Row {
                    value: r.value,
                    min: r.min_value,
                    max: r.max_value,
                    count: r.sample_count.into(),
                },
            )
        })
        .collect()
}

async fn stored(pipeline: &Pipeline, user: &Session) -> BTreeMap<Key, Row> {
    let (client, connection) = tokio_postgres::connect(
        &pipeline.database_url,
        healthpipe_storage::pool::tls().expect("TLS connector"),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let id: Uuid = user.user_id.parse().unwrap();
    client
        .query(
            "SELECT sample_type, period, period_start, value, min_value, max_value, sample_count \
             FROM aggregates WHERE user_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let count: i32 = r.get(6);
            (
                (r.get(0), r.get(1), r.get(2)),
                Row {
                    value: r.get(3),
                    min: r.get(4),
                    max: r.get(5),
                    count: count.into(),
                },
            )
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn same(a: &Row, b: &Row) -> bool {
    a.count == b.count && close(a.value, b.value) && close(a.min, b.min) && close(a.max, b.max)
}

fn assert_rows_equal(expected: &BTreeMap<Key, Row>, actual: &BTreeMap<Key, Row>, when: &str) {
    let mut diff = Vec::new();
    for (k, e) in expected {
        match actual.get(k) {
            None => diff.push(format!("missing    {k:?}: expected {e:?}")),
            Some(a) if !same(a, e) => {
                diff.push(format!("differs    {k:?}: expected {e:?}, stored {a:?}"))
            }
            Some(_) => {}
        }
    }
    for (k, a) in actual {
        if !expected.contains_key(k) {
            diff.push(format!("unexpected {k:?}: stored {a:?}"));
        }
    }
    assert!(
        diff.is_empty(),
        "{when}: {} of {} rows differ from the expectation; first ones:\n{}",
        diff.len(),
        expected.len(),
        diff.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// Keys whose row appeared, disappeared or changed.
fn changed_keys(before: &BTreeMap<Key, Row>, after: &BTreeMap<Key, Row>) -> BTreeSet<Key> {
    let keys: BTreeSet<&Key> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter(|k| match (before.get(*k), after.get(*k)) {
            (Some(a), Some(b)) => !same(a, b),
            _ => true,
        })
        .cloned()
        .collect()
}
