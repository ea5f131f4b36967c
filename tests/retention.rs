//! Retention (`healthpipe retention`, horizons in `healthpipe_domain::retention`): data on both
//! sides of every limit, back-dated; the dry run changes nothing and predicts the run; the run
//! removes exactly what crossed a horizon; and a replay as of the same day gives the same
//! tables as the live database after the run (projections stay a pure function of the log).
//!
//! The run is "as of" a day a year ahead (`--as-of`), so samples synced today, back-dated a
//! little over six years, are on either side of its seven-year horizon.

mod common;

use std::collections::HashMap;

use chrono::{DateTime, Duration, Months, NaiveDate, TimeZone, Utc};
use common::query::{db, sync};
use common::services::run_command;
use common::*;
use healthpipe_domain::Horizons;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

/// Noon of the day `days` after (before, if negative) `instant`'s day.
fn noon(instant: DateTime<Utc>, days: i64) -> DateTime<Utc> {
    let day = (instant + Duration::days(days)).date_naive();
    Utc.from_utc_datetime(&day.and_hms_opt(12, 0, 0).unwrap())
}

/// A half-hour step count starting at `start`.
fn steps_at(id: &str, value: f64, start: DateTime<Utc>) -> Value {
    common::query::steps(
        id,
        value,
        &start.to_rfc3339(),
        &(start + Duration::minutes(30)).to_rfc3339(),
    )
}

/// `what -> rows` from `healthpipe retention`'s report.
fn report(stdout: &str) -> HashMap<String, u64> {
    stdout
        .lines()
        .filter_map(|line| {
            let (what, rest) = line
                .split_once(" would remove ")
                .or_else(|| line.split_once(" removed "))?;
            let rows = rest.split_whitespace().next()?.parse().ok()?;
            Some((what.trim().to_string(), rows))
        })
        .collect()
}

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retention_removes_what_crossed_each_horizon_and_a_replay_agrees() {
    let pipeline = Pipeline::start().await;
    let as_of: NaiveDate = Utc::now().date_naive() + Months::new(12);
    let h = Horizons::on(as_of);
    let user = pipeline.new_user("UTC").await;
    let phone = user.device("iphone", &unique("phone")).await;
    let ids = |n: u128| uuid::Uuid::from_u128(0x5e7e_0000 + n).to_string();
    let (old, kept, old_deleted, hour_old, hour_new) = (ids(1), ids(2), ids(3), ids(4), ids(5));
    let mut deleted_sample = steps_at(&old_deleted, 30.0, noon(h.samples, -5));
    deleted_sample["metadata"] = json!({"sync_identifier": "retention-s1", "sync_version": "1"});
    sync(
        &user,
        &phone,
        vec![
            steps_at(&old, 100.0, noon(h.samples, -3)),
            steps_at(&kept, 200.0, noon(h.samples, 3)),
            deleted_sample,
            steps_at(&hour_old, 400.0, noon(h.hourly, -3)),
            steps_at(&hour_new, 500.0, noon(h.hourly, 3)),
        ],
    )
    .await;
    let response = user
        .http
        .delete(pipeline.url("/api/v1/samples"))
        .bearer_auth(&user.token)
        .json(&json!({ "ids": [old_deleted] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "deletion");

    // Shares: one expiring before the shares' horizon, one after it, one revoked today.
    let share = |expires: DateTime<Utc>| {
        json!({"recipient_email": "dr@clinic.example.org", "data_types": ["STEPS"],
               "date_start": "2026-01-01", "date_end": "2026-06-30",
               "expires_at": expires.to_rfc3339(), "label": "retention"})
    };
    let mut shares = Vec::new();
    for expires in [
        h.ended_shares - Duration::days(2),
        h.ended_shares + Duration::days(2),
        h.ended_shares + Duration::days(3),
    ] {
        let response = user.post("/api/v1/shares", share(expires)).await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        let body: Value = response.json().await.unwrap();
        shares.push(body["share"]["id"].as_str().unwrap().to_string());
    }
    let response = user.delete(&format!("/api/v1/shares/{}", shares[2])).await;
    assert!(response.status().is_success(), "revocation");
    pipeline.settle_aggregation().await;

    let client = db(&pipeline).await;
    // Access records (written by the gateway on reads; made here for each share).
    for share_id in &shares {
        client
            .execute(
                "INSERT INTO share_access (share_id, owner_id, action, outcome) \
                 VALUES ($1::text::uuid, $2::text::uuid, 'aggregates', 'allowed')",
                &[share_id, &user.user_id],
            )
            .await
            .unwrap();
    }
    // Account state the clock retires: another user's session expired, idempotency keys
    // taken 25 and 23 hours ago.
    let other = pipeline.new_user("UTC").await;
    client
        .execute(
            "UPDATE sessions SET expires_at = now() - interval '1 minute' \
             WHERE user_id = $1::text::uuid",
            &[&other.user_id],
        )
        .await
        .unwrap();
    let keys = count(&client, "SELECT count(*) FROM idempotency_keys").await;
    assert!(keys >= 2, "{keys} idempotency keys");
    for age in ["25 hours", "23 hours"] {
        client
            .execute(
                &format!(
                    "UPDATE idempotency_keys SET created_at = now() - interval '{age}' WHERE key_hash = \
                     (SELECT key_hash FROM idempotency_keys WHERE created_at > now() - interval '1 hour' \
                      ORDER BY created_at LIMIT 1)"
                ),
                &[],
            )
            .await
            .unwrap();
    }
    // The insights projection's rows on either side of its horizons.
    for (days, tag) in [(-1, 1u128), (1, 2)] {
        let at = h.insights + Duration::days(days);
        let inputs_at = h.insight_inputs + Duration::days(days);
        let insight = uuid::Uuid::from_u128(tag).to_string();
        client
            .execute(
                "INSERT INTO insights (user_id, insight_id, rule_key, insight_type, severity, status, \
                 message, recommendation, data, created_at, updated_at) VALUES ($1::text::uuid, \
                 $2::text::uuid, $2, 'ACTIVITY_CHANGE', 'info', 'resolved', 'm', 'r', '{}', $3, $3)",
                &[&user.user_id, &insight, &at],
            )
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO insight_acknowledgements VALUES ($1::text::uuid, $2::text::uuid, $3)",
                &[&user.user_id, &insight, &at],
            )
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO insight_inputs VALUES ($1::text::uuid, 'STEPS', 'day', $2, 1, 1, 1, 1)",
                &[&user.user_id, &inputs_at],
            )
            .await
            .unwrap();
    }

    // Day partials on either side of the raw-sample horizon, of a user without samples; any
    // the processor wrote for the days of the samples above count as well.
    let other_id: uuid::Uuid = other.user_id.parse().unwrap();
    for day_start in [h.samples - Duration::days(1), h.samples] {
        client
            .execute(
                "INSERT INTO day_partials (user_id, sample_type, day_start, sum, whole_count, \
                 whole_min, whole_max, shared_ids, shared_amounts, counted_nanos, devices) \
                 VALUES ($1, 'HEART_RATE', $2, 64, 1, 64, 64, '{}', '{}', 0, '{}')",
                &[&other_id, &day_start],
            )
            .await
            .unwrap();
    }
    let partials_beyond = client
        .query_one(
            "SELECT count(*) FROM day_partials WHERE day_start < $1",
            &[&h.samples],
        )
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert!(partials_beyond >= 1, "{partials_beyond} day partials");

    // Nothing crossed today's horizons: everything above is stored.
    let samples_sql = "SELECT count(*) FROM samples";
    assert_eq!(
        count(&client, samples_sql).await,
        4,
        "4 samples (one deleted)"
    );
    let before = common::checksums::all(&client).await;

    let as_of_text = as_of.to_string();
    let dry = report(&run_command(
        &pipeline,
        &["retention", "--dry-run", "--as-of", &as_of_text],
        &[],
    ));
    assert_eq!(
        common::checksums::all(&client).await,
        before,
        "the dry run changed nothing"
    );
    let done = report(&run_command(
        &pipeline,
        &["retention", "--as-of", &as_of_text],
        &[],
    ));
    assert_eq!(dry, done, "the dry run predicts the run");
    let expected: HashMap<String, u64> = [
        ("samples", 1),
        // Every partial of a day before the raw-sample horizon, the one written above too.
        ("day partials", partials_beyond as u64),
        ("deleted-sample tombstones", 1),
        // The hour of the sample just before the hourly horizon (the live processor never
        // wrote hours older than today's horizon, two years back).
        ("hourly aggregates", 1),
        ("insights", 1),
        ("insight acknowledgements", 1),
        ("insight inputs", 1),
        // The one that expired before the horizon, and the one revoked today.
        ("share grants", 2),
        ("idempotency keys", 1),
        ("sessions", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(done, expected);

    // What stays and what went, row by row.
    let present = |table: &str, column: &str, id: &str| {
        let sql = format!("SELECT count(*) FROM {table} WHERE {column} = '{id}'");
        let client = &client;
        async move { count(client, &sql).await }
    };
    assert_eq!(present("samples", "sample_id", &old).await, 0);
    assert_eq!(present("sample_index", "sample_id", &old).await, 0);
    assert_eq!(present("sample_index", "sample_id", &old_deleted).await, 0);
    assert_eq!(
        present("sync_versions", "sync_identifier", "retention-s1").await,
        0
    );
    for id in [&kept, &hour_old, &hour_new] {
        assert_eq!(present("samples", "sample_id", id).await, 1, "{id} kept");
    }
    let day_of_old = noon(h.samples, -3).date_naive().to_string();
    assert_eq!(
        count(
            &client,
            &format!(
                "SELECT count(*) FROM aggregates WHERE period = 'day' AND value = 100 \
                 AND period_start = '{day_of_old}'"
            )
        )
        .await,
        1,
        "the day bucket older than the raw samples stays (frozen)"
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM aggregates WHERE period = 'hour'"
        )
        .await,
        1,
        "only the hour after the hourly horizon stays"
    );
    assert_eq!(
        client
            .query_one(
                "SELECT count(*) FROM day_partials WHERE day_start < $1",
                &[&h.samples],
            )
            .await
            .unwrap()
            .get::<_, i64>(0),
        0,
        "no partial of a day before the raw-sample horizon stays"
    );
    let kept_partial = client
        .query_one(
            "SELECT sum, whole_count FROM day_partials WHERE user_id = $1 AND day_start = $2",
            &[&other_id, &h.samples],
        )
        .await
        .expect("the partial of the day at the horizon stays");
    assert_eq!(
        (kept_partial.get::<_, f64>(0), kept_partial.get::<_, i32>(1)),
        (64.0, 1)
    );
    assert_eq!(present("share_grants", "share_id", &shares[1]).await, 1);
    assert_eq!(count(&client, "SELECT count(*) FROM share_grants").await, 1);
    assert_eq!(
        count(&client, "SELECT count(*) FROM share_access").await,
        1,
        "access records go with their grant"
    );
    assert_eq!(present("share_access", "share_id", &shares[1]).await, 1);
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM idempotency_keys WHERE created_at < now() - interval '24 hours'"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM idempotency_keys WHERE created_at < now() - interval '22 hours'"
        )
        .await,
        1,
        "the key taken 23 hours ago stays"
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM sessions WHERE expires_at < now()"
        )
        .await,
        0
    );
    assert!(count(&client, "SELECT count(*) FROM sessions").await >= 1);
    let insight_after = uuid::Uuid::from_u128(2).to_string();
    assert_eq!(present("insights", "insight_id", &insight_after).await, 1);
    assert_eq!(count(&client, "SELECT count(*) FROM insights").await, 1);
    assert_eq!(
        count(&client, "SELECT count(*) FROM insight_acknowledgements").await,
        1
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM insight_inputs").await,
        1
    );

    // A replay as of the same day, into a schema of its own: the same tables. The partial
    // written by hand above is in no event: it goes first.
    client
        .execute("DELETE FROM day_partials WHERE user_id = $1", &[&other_id])
        .await
        .unwrap();
    let mut config = pipeline.processor_config();
    config.retention_day = Some(as_of);
    let replayed = healthpipe::replay::aggregation(
        config,
        healthpipe::replay::ReplayArgs {
            into: "after_retention".into(),
            from_beginning: true,
            from: None,
            switch: false,
            live_group: pipeline.processor_config().group_id,
            quiet: true,
        },
        CancellationToken::new(),
    )
    .await
    .expect("the replay runs");
    assert!(replayed.frozen_buckets_copied >= 1, "{replayed:?}");
    let differing = common::checksums::differences(
        (&client, "public"),
        (&client, "after_retention"),
        &["samples", "aggregates", "sample_index", "share_grants"],
    )
    .await;
    assert!(
        differing.is_empty(),
        "the replay after retention differs:\n{}",
        differing.join("\n")
    );
}

/// A sample that ends beyond today's raw-sample horizon is refused with its reason, not
/// taken and silently dropped by the processors; one just inside is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_gateway_refuses_samples_beyond_retention() {
    let pipeline = Pipeline::without_processor().await;
    let user = pipeline.new_user("UTC").await;
    let phone = user.device("iphone", &unique("phone")).await;
    let horizon = Horizons::today().samples;
    let response = user
        .post(
            &format!("/api/v1/devices/{phone}/sync"),
            json!({"samples": [
                steps_at(&uuid::Uuid::from_u128(1).to_string(), 10.0, horizon - Duration::minutes(31)),
                steps_at(&uuid::Uuid::from_u128(2).to_string(), 10.0, horizon - Duration::minutes(29)),
            ]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (body["synced"].clone(), body["errors"].clone()),
        (json!(1), json!(1)),
        "{body}"
    );
    let detail = &body["error_details"][0];
    assert_eq!(detail["index"], 0, "{body}");
    assert!(
        detail.to_string().contains("7 years"),
        "the reason names the retention: {detail}"
    );
}

/// With an archive configured (ARCHIVE_URL), raw samples wait for it: retention removes a
/// month's samples only once `healthpipe archive` holds that month.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_an_archive_samples_go_only_once_archived() {
    let pipeline = Pipeline::start().await;
    let as_of = (Utc::now().date_naive() + Months::new(12)).to_string();
    let h = Horizons::on(Utc::now().date_naive() + Months::new(12));
    let user = pipeline.new_user("UTC").await;
    let phone = user.device("iphone", &unique("phone")).await;
    let id = uuid::Uuid::from_u128(0xa7c1).to_string();
    sync(
        &user,
        &phone,
        vec![steps_at(&id, 100.0, noon(h.samples, -3))],
    )
    .await;
    pipeline.settle_aggregation().await;
    let folder = std::env::temp_dir().join(unique("hp_archive"));
    std::fs::create_dir_all(&folder).unwrap();
    let url = format!("file://{}", folder.display());
    let archive = [("ARCHIVE_URL", url.as_str())];
    let client = db(&pipeline).await;

    let first = report(&run_command(
        &pipeline,
        &["retention", "--as-of", &as_of],
        &archive,
    ));
    assert_eq!(first["samples"], 0, "not archived yet: {first:?}");
    assert_eq!(count(&client, "SELECT count(*) FROM samples").await, 1);

    run_command(&pipeline, &["archive"], &archive);
    let second = report(&run_command(
        &pipeline,
        &["retention", "--as-of", &as_of],
        &archive,
    ));
    assert_eq!(second["samples"], 1, "archived, then removed: {second:?}");
    assert_eq!(count(&client, "SELECT count(*) FROM samples").await, 0);
    std::fs::remove_dir_all(&folder).unwrap();
}
