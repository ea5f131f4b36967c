//! One truth per fact on the read side: after a device priority change, the samples page
//! (`counted_fraction`), the explain endpoint (what counted, by which priority) and the stored
//! aggregates agree with one another, both before the aggregation processor has applied the
//! change (they all still rank by the old priorities) and after it has (they all rank by the
//! new ones). The reads rank from the processor's projection, never from the registry; in
//! the same way they cut local days in the zone of the processor's projection, and in the
//! account's zone only for a user the processor has not seen yet.

mod common;

use std::collections::BTreeMap;

use common::query::{get_json, patch, patch_device, steps, sync};
use common::{Pipeline, Session};
use serde_json::{json, Value};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const WATCH_STEPS: &str = "00000000-0000-4000-8000-000000000101";
const PHONE_STEPS: &str = "00000000-0000-4000-8000-000000000102";
const HOUR: &str = "2026-05-04T08:00:00Z";

/// An aggregation processor this test stops and starts itself.
struct Processor {
    token: CancellationToken,
    task: JoinHandle<()>,
}

impl Processor {
    fn start(pipeline: &Pipeline) -> Self {
        let token = CancellationToken::new();
        let config = pipeline.processor_config();
        let task = tokio::spawn({
            let token = token.clone();
            async move {
                healthpipe_processors::run_aggregation(config, token)
                    .await
                    .expect("aggregation processor failed");
            }
        });
        Processor { token, task }
    }

    /// Stops it gracefully and waits until it has.
    async fn stop(self) {
        self.token.cancel();
        self.task.await.expect("the processor stops cleanly");
    }
}

/// What the three reads say about the 08:00 hour of steps.
struct Reads {
    /// `counted_fraction` by sample id, from `GET /api/v1/samples`.
    listed: BTreeMap<String, f64>,
    /// The values of the samples by id, from the same page.
    values: BTreeMap<String, f64>,
    /// `GET /api/v1/aggregates/explain` of the hour.
    explained: Value,
    /// The stored row of the hour, from `GET /api/v1/aggregates`.
    stored: Value,
}

async fn read_all(user: &Session) -> Reads {
    let page = get_json(
        user,
        &format!("/api/v1/samples?type=STEPS&from={HOUR}&to=2026-05-04T09:00:00Z"),
    )
    .await;
    let samples = page["samples"].as_array().unwrap();
    let by_id = |field: &str| -> BTreeMap<String, f64> {
        samples
            .iter()
            .map(|s| {
                (
                    s["sample_id"].as_str().unwrap().to_string(),
                    s[field].as_f64().unwrap(),
                )
            })
            .collect()
    };
    let explained = get_json(
        user,
        &format!("/api/v1/aggregates/explain?type=STEPS&period=hour&period_start={HOUR}"),
    )
    .await;
    let rows = get_json(
        user,
        &format!("/api/v1/aggregates?type=STEPS&period=hour&from={HOUR}&to=2026-05-04T09:00:00Z"),
    )
    .await;
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    Reads {
        listed: by_id("counted_fraction"),
        values: by_id("value"),
        explained,
        stored: rows[0].clone(),
    }
}

impl Reads {
    /// The explained samples by id: (counted_fraction, priority).
    fn explained_samples(&self) -> BTreeMap<String, (f64, i64)> {
        self.explained["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["id"].as_str().unwrap().to_string(),
                    (
                        s["counted_fraction"].as_f64().unwrap(),
                        s["priority"].as_i64().unwrap(),
                    ),
                )
            })
            .collect()
    }

    /// The three reads tell the same story: the samples page and explain count the same
    /// share of every sample, explain's bucket is the stored one, and the counted amounts of
    /// the listed samples (all inside the hour) add up to the stored value.
    fn assert_consistent(&self, when: &str) {
        let explained: BTreeMap<String, f64> = self
            .explained_samples()
            .into_iter()
            .map(|(id, (fraction, _))| (id, fraction))
            .collect();
        assert_eq!(
            self.listed, explained,
            "{when}: samples page against explain"
        );
        for field in [
            "period_start",
            "value",
            "min_value",
            "max_value",
            "sample_count",
            "coverage",
        ] {
            assert_eq!(
                self.explained[field], self.stored[field],
                "{when}: explain against the stored aggregate, {field}"
            );
        }
        let counted: f64 = self
            .listed
            .iter()
            .map(|(id, fraction)| self.values[id] * fraction)
            .sum();
        let stored = self.stored["value"].as_f64().unwrap();
        assert!(
            (counted - stored).abs() < 1e-9,
            "{when}: the samples page counts {counted}, the aggregate holds {stored}"
        );
    }

    /// (fraction of the watch's sample, fraction of the phone's, phone's priority in explain,
    /// stored value).
    fn summary(&self) -> (f64, f64, i64, f64) {
        let explained = self.explained_samples();
        (
            self.listed[WATCH_STEPS],
            self.listed[PHONE_STEPS],
            explained[PHONE_STEPS].1,
            self.stored["value"].as_f64().unwrap(),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_agree_with_the_aggregates_before_and_after_a_priority_change_is_applied() {
    let pipeline = Pipeline::without_processor().await;
    let processor = Processor::start(&pipeline);
    let user = pipeline.new_user("UTC").await;
    let watch = user.device("apple_watch", "watch-1").await; // priority 100
    let phone = user.device("iphone", "phone-1").await; // priority 80
                                                        // The phone's first half lies under the watch's second half.
    for (device, steps) in [
        (
            &watch,
            steps(WATCH_STEPS, 600.0, HOUR, "2026-05-04T08:30:00Z"),
        ),
        (
            &phone,
            steps(
                PHONE_STEPS,
                450.0,
                "2026-05-04T08:15:00Z",
                "2026-05-04T08:45:00Z",
            ),
        ),
    ] {
        sync(&user, device, vec![steps]).await;
    }
    pipeline.settle_aggregation().await;
    processor.stop().await;

    // The watch wins: 600 + 225.
    let before = read_all(&user).await;
    before.assert_consistent("before the change");
    assert_eq!(before.summary(), (1.0, 0.5, 80, 825.0));

    // The phone now ranks above the watch for steps. The registry has it at once; the
    // processor, stopped, has not applied it: every read still ranks as the aggregates do.
    let response = patch_device(&user, &phone, json!({"type_priorities": {"STEPS": 120}})).await;
    assert_eq!(response.status(), 200);
    let listed: Value = user.get("/api/v1/devices").await.json().await.unwrap();
    assert_eq!(listed[1]["type_priorities"], json!({"STEPS": 120}));
    let pending = read_all(&user).await;
    pending.assert_consistent("before the processor applied the change");
    assert_eq!(pending.summary(), before.summary());

    // Once the processor has applied it, every read shows the new ranking: 450 + 300.
    let processor = Processor::start(&pipeline);
    pipeline.settle_aggregation().await;
    let after = read_all(&user).await;
    after.assert_consistent("after the processor applied the change");
    assert_eq!(after.summary(), (0.5, 1.0, 120, 750.0));
    processor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_cut_days_in_the_zone_the_aggregates_are_bucketed_in() {
    let pipeline = Pipeline::without_processor().await;
    let user = pipeline.new_user("Europe/Berlin").await;
    let zone = |summary: Value| summary["timezone"].as_str().unwrap().to_string();
    let summary = "/api/v1/summary?date=2026-05-04";

    // No processor has seen the user yet: the account's zone stands in.
    assert_eq!(zone(get_json(&user, summary).await), "Europe/Berlin");

    let processor = Processor::start(&pipeline);
    pipeline.settle_aggregation().await;
    processor.stop().await;
    let response = patch(&user, "/api/v1/me", json!({"timezone": "Asia/Tokyo"})).await;
    assert_eq!(response.status(), 200);
    // The account has the new zone, the aggregates are still cut in the old one, and so are
    // the reads: a Berlin day start is still a bucket start for explain.
    assert_eq!(zone(get_json(&user, summary).await), "Europe/Berlin");
    get_json(
        &user,
        "/api/v1/aggregates/explain?type=STEPS&period=day&period_start=2026-05-03T22:00:00Z",
    )
    .await;

    let processor = Processor::start(&pipeline);
    pipeline.settle_aggregation().await;
    assert_eq!(zone(get_json(&user, summary).await), "Asia/Tokyo");
    get_json(
        &user,
        "/api/v1/aggregates/explain?type=STEPS&period=day&period_start=2026-05-03T15:00:00Z",
    )
    .await;
    processor.stop().await;
}
