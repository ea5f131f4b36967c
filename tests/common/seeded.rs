//! Users with generated, seeded histories synced through the gateway, and the checks that
//! the projection equals the pure expectation: shared by the tests that break the processor
//! (kill -9, rebalances, replays, server restarts) and must find it exactly right anyway.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use healthpipe::workload::{generate, UserSpec};
use healthpipe_domain::{aggregate_user, validate, DeviceRanking, RawSample, Sample, SampleType};
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{Pipeline, Session};

/// Concurrent sync requests while seeding.
const UPLOADERS: usize = 4;

/// A generated user as the test knows it: what was sent, and the domain's view of it.
pub struct SeededUser {
    pub user_id: Uuid,
    pub token: String,
    pub tz: Tz,
    /// Device ids as the gateway returned them, in `generate`'s order (watch, phone, scale).
    pub devices: Vec<String>,
    pub ranking: DeviceRanking,
    pub samples: Vec<Sample>,
    pub uploads: Vec<Upload>,
}

/// One sync request.
#[derive(Clone)]
pub struct Upload {
    pub device_id: String,
    pub token: String,
    pub samples: Vec<Value>,
}

/// Signs the users up, registers their devices, gives every sample a seeded client id and
/// syncs everything through the gateway (`chunk` samples per request, `UPLOADERS` at a time).
pub async fn seed_users(
    pipeline: &Pipeline,
    specs: &[UserSpec],
    chunk: usize,
    rng: &mut StdRng,
) -> Vec<SeededUser> {
    let users = prepare_users(pipeline, specs, chunk, rng).await;
    let all: Vec<Upload> = users.iter().flat_map(|u| u.uploads.clone()).collect();
    upload(pipeline, all).await;
    users
}

/// [`seed_users`] without the syncing: the users, their devices and their uploads
/// (`chunk` samples each), for a test that sends them its own way.
pub async fn prepare_users(
    pipeline: &Pipeline,
    specs: &[UserSpec],
    chunk: usize,
    rng: &mut StdRng,
) -> Vec<SeededUser> {
    let now = Utc::now();
    let mut users = Vec::new();
    for spec in specs {
        let session = pipeline.new_user(spec.timezone.name()).await;
        let mut devices = Vec::new();
        let mut samples = Vec::new();
        let mut uploads = Vec::new();
        for device in generate(spec) {
            let device_id = session.device(device.device_type, &device.identifier).await;
            let mut sent = Vec::with_capacity(device.samples.len());
            for mut json in device.samples {
                let id = uuid::Builder::from_random_bytes(rng.random()).into_uuid();
                samples.push(domain_sample(&json, &id.to_string(), &device_id, now));
                json["id"] = json!(id.to_string());
                sent.push(json);
            }
            for chunk in sent.chunks(chunk) {
                uploads.push(Upload {
                    device_id: device_id.clone(),
                    token: session.token.clone(),
                    samples: chunk.to_vec(),
                });
            }
            devices.push(device_id);
        }
        let ranking = ranking_from_gateway(&session).await;
        users.push(SeededUser {
            user_id: session.user_id.parse().unwrap(),
            token: session.token.clone(),
            tz: spec.timezone,
            devices,
            ranking,
            samples,
            uploads,
        });
    }
    users
}

/// Posts the uploads, `UPLOADERS` requests at a time; each must be accepted whole.
pub async fn upload(pipeline: &Pipeline, uploads: Vec<Upload>) {
    let mut lanes: Vec<Vec<Upload>> = vec![Vec::new(); UPLOADERS];
    for (i, u) in uploads.into_iter().enumerate() {
        lanes[i % UPLOADERS].push(u);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for lane in lanes {
        let http = pipeline.http.clone();
        let base = pipeline.base_url.clone();
        tasks.spawn(async move {
            for u in lane {
                let response = http
                    .post(format!("{base}/api/v1/devices/{}/sync", u.device_id))
                    .bearer_auth(&u.token)
                    .json(&json!({"samples": u.samples}))
                    .send()
                    .await
                    .expect("sync request");
                let status = response.status();
                let body: Value = response.json().await.expect("sync answer");
                assert_eq!(status, 200, "sync: {body}");
                assert_eq!(
                    body["synced"].as_u64(),
                    Some(u.samples.len() as u64),
                    "sync: {body}"
                );
            }
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.expect("upload task");
    }
}

/// The sample as the processor stores it: validated and canonicalised by the same domain
/// code the gateway runs.
pub fn domain_sample(json: &Value, id: &str, device_id: &str, now: DateTime<Utc>) -> Sample {
    let time = |k: &str| DateTime::parse_from_rfc3339(json[k].as_str().unwrap()).unwrap();
    let valid = validate(
        &RawSample {
            sample_type: json["type"].as_str().unwrap(),
            value: json["value"].as_f64().unwrap(),
            unit: json["unit"].as_str().unwrap(),
            start: time("start_date"),
            end: time("end_date"),
        },
        now,
    )
    .unwrap_or_else(|e| panic!("generated sample {json} is invalid: {e}"));
    Sample::from_valid(id, device_id, &valid)
}

/// The user's device ranking as the gateway registered it.
pub async fn ranking_from_gateway(session: &Session) -> DeviceRanking {
    let devices: Value = session.get("/api/v1/devices").await.json().await.unwrap();
    let mut ranking = DeviceRanking::new();
    for d in devices.as_array().expect("device list") {
        let id = d["id"].as_str().unwrap();
        ranking.set_priority(id, d["priority"].as_i64().unwrap());
        for (t, p) in d["type_priorities"].as_object().into_iter().flatten() {
            let t: SampleType = t.parse().unwrap();
            ranking.set_type_priority(id, t, p.as_i64().unwrap());
        }
    }
    ranking
}

pub type Key = (Uuid, String, String, DateTime<Utc>);

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    pub value: f64,
    pub min: f64,
    pub max: f64,
    pub count: i64,
}

pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) =
        tokio_postgres::connect(url, healthpipe_storage::pool::tls().expect("TLS connector"))
            .await
            .expect("connect");
    tokio::spawn(connection);
    client
}

/// Every aggregate row equals the pure expectation; every sample is stored exactly once.
pub async fn assert_projection_matches(database_url: &str, users: &[SeededUser]) {
    let client = connect(database_url).await;
    let expected = expected_aggregates(users);
    let actual = stored_aggregates(&client, users).await;
    assert!(!expected.is_empty());
    let diff = diff_rows(&expected, &actual);
    assert!(
        diff.is_empty(),
        "{} of {} expected aggregate rows differ ({} stored); first ones:\n{}",
        diff.len(),
        expected.len(),
        actual.len(),
        diff.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
    );
    assert_samples_stored_once(&client, users).await;
}

pub fn expected_aggregates(users: &[SeededUser]) -> BTreeMap<Key, Row> {
    let mut out = BTreeMap::new();
    for user in users {
        let rows = aggregate_user(&user.samples, &Default::default(), &user.ranking, user.tz);
        for r in rows {
            out.insert(
                (
                    user.user_id,
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
            );
        }
    }
    out
}

pub async fn stored_aggregates(
    client: &tokio_postgres::Client,
    users: &[SeededUser],
) -> BTreeMap<Key, Row> {
    let ids: Vec<Uuid> = users.iter().map(|u| u.user_id).collect();
    let rows = client
        .query(
            "SELECT user_id, sample_type, period, period_start, value, min_value, max_value, sample_count \
             FROM aggregates WHERE user_id = ANY($1)",
            &[&ids],
        )
        .await
        .expect("read aggregates");
    rows.iter()
        .map(|r| {
            let count: i32 = r.get(7);
            (
                (r.get(0), r.get(1), r.get(2), r.get(3)),
                Row {
                    value: r.get(4),
                    min: r.get(5),
                    max: r.get(6),
                    count: count.into(),
                },
            )
        })
        .collect()
}

pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Human-readable differences: missing, unexpected and differing rows, in key order.
pub fn diff_rows(expected: &BTreeMap<Key, Row>, actual: &BTreeMap<Key, Row>) -> Vec<String> {
    let mut out = Vec::new();
    for (key, e) in expected {
        match actual.get(key) {
            None => out.push(format!("missing   {key:?}: expected {e:?}")),
            Some(a) => {
                if a.count != e.count
                    || !close(a.value, e.value)
                    || !close(a.min, e.min)
                    || !close(a.max, e.max)
                {
                    out.push(format!("differs   {key:?}: expected {e:?}, stored {a:?}"));
                }
            }
        }
    }
    for (key, a) in actual {
        if !expected.contains_key(key) {
            out.push(format!("unexpected {key:?}: stored {a:?}"));
        }
    }
    out
}

/// Each generated sample is in `samples` exactly once, with its device, value and times; no
/// other sample of these users is.
pub async fn assert_samples_stored_once(client: &tokio_postgres::Client, users: &[SeededUser]) {
    let (problems, rows) = sample_problems(client, users).await;
    let expected_count: usize = users.iter().map(|u| u.samples.len()).sum();
    assert!(
        problems.is_empty(),
        "{} problems in `samples` ({rows} rows, {expected_count} samples sent); first ones:\n{}",
        problems.len(),
        problems
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// What differs between the users' generated samples and the `samples` table (missing,
/// stored more than once, stored differently, unexpected), and how many rows the users have.
pub async fn sample_problems(
    client: &tokio_postgres::Client,
    users: &[SeededUser],
) -> (Vec<String>, usize) {
    let ids: Vec<Uuid> = users.iter().map(|u| u.user_id).collect();
    let rows = client
        .query(
            "SELECT user_id, sample_id, device_id, value, start_time, end_time FROM samples \
             WHERE user_id = ANY($1)",
            &[&ids],
        )
        .await
        .expect("read samples");
    type Stored = (Uuid, f64, DateTime<Utc>, DateTime<Utc>);
    let mut stored: HashMap<(Uuid, Uuid), Vec<Stored>> = HashMap::new();
    for r in &rows {
        stored.entry((r.get(0), r.get(1))).or_default().push((
            r.get(2),
            r.get(3),
            r.get(4),
            r.get(5),
        ));
    }
    let mut problems = Vec::new();
    for user in users {
        for s in &user.samples {
            let id: Uuid = s.id.parse().unwrap();
            let want: Stored = (s.device_id.parse().unwrap(), s.value, s.start, s.end);
            match stored.remove(&(user.user_id, id)) {
                None => problems.push(format!("missing sample {id} of user {}", user.user_id)),
                Some(found) if found.len() != 1 => {
                    problems.push(format!("sample {id} stored {} times", found.len()))
                }
                Some(found) if found[0] != want => {
                    problems.push(format!("sample {id}: stored {:?}, sent {want:?}", found[0]))
                }
                Some(_) => {}
            }
        }
    }
    for ((user, id), found) in stored {
        problems.push(format!(
            "unexpected sample {id} of user {user} stored {} times",
            found.len()
        ));
    }
    (problems, rows.len())
}
