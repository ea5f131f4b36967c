//! Bad inputs an outsider can send, each of which must get a clear 4xx and store nothing:
//! never a 5xx, a hang or a crash. Counted per kind for the suite's table.

use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;

use crate::common::{unique, Pipeline, Session};

/// What the abuse phase tried and saw.
#[derive(Default)]
pub struct Outcome {
    /// (kind, tried, rejected with a 4xx)
    pub rows: Vec<(&'static str, u32, u32)>,
    /// Every answer that was not a 4xx (or, for the control requests, not a success).
    pub failures: Vec<String>,
    /// The users the bad inputs were sent as: none of them may have a stored sample.
    users: Vec<Uuid>,
    /// Injection strings in free-text fields, which are valid text: stored and read back
    /// byte for byte, nothing else touched.
    pub verbatim: u32,
}

impl Outcome {
    /// Sends `request`; a 4xx counts as rejected, anything else as a failure.
    async fn expect_4xx(&mut self, kind: &'static str, request: reqwest::RequestBuilder) {
        let answer = request.timeout(Duration::from_secs(20)).send().await;
        let rejected = match answer {
            Ok(response) if response.status().is_client_error() => true,
            Ok(response) => {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                let body: String = body.chars().take(200).collect();
                self.failures
                    .push(format!("{kind}: answered {status}: {body}"));
                false
            }
            Err(e) => {
                self.failures.push(format!("{kind}: no answer ({e})"));
                false
            }
        };
        self.count(kind, rejected);
    }

    fn count(&mut self, kind: &'static str, rejected: bool) {
        match self.rows.iter_mut().find(|(k, _, _)| *k == kind) {
            Some(row) => {
                row.1 += 1;
                row.2 += u32::from(rejected);
            }
            None => self.rows.push((kind, 1, u32::from(rejected))),
        }
    }

    /// A request that must succeed (the control that the limits hurt no one else).
    async fn expect_success(&mut self, what: &str, request: reqwest::RequestBuilder) {
        match request.timeout(Duration::from_secs(20)).send().await {
            Ok(response) if response.status().is_success() => {}
            Ok(response) => self
                .failures
                .push(format!("{what}: answered {}", response.status())),
            Err(e) => self.failures.push(format!("{what}: no answer ({e})")),
        }
    }

    /// Samples stored for the users the bad inputs were sent as (must be 0).
    pub async fn stored_samples(&self, client: &tokio_postgres::Client) -> i64 {
        client
            .query_one(
                "SELECT count(*) FROM samples WHERE user_id = ANY($1)",
                &[&self.users],
            )
            .await
            .expect("count the abuse users' samples")
            .get(0)
    }
}

fn sample(start: &str, end: &str) -> Value {
    json!({"type": "STEPS", "value": 10, "unit": "count", "start_date": start, "end_date": end})
}

const INJECTION: &str = "x'); DROP TABLE samples; --";

/// An account whose email and password the abuse phase knows.
async fn account(pipeline: &Pipeline) -> (String, String) {
    let email = format!("{}@example.org", unique("abuse"));
    let password = "correct horse battery".to_string();
    let response = pipeline
        .http
        .post(pipeline.url("/api/v1/users"))
        .json(&json!({"email": email, "password": password, "name": "Abuse", "timezone": "UTC"}))
        .send()
        .await
        .expect("sign-up");
    assert!(
        response.status().is_success(),
        "sign-up: {}",
        response.status()
    );
    (email, password)
}

async fn sign_in(pipeline: &Pipeline, email: &str, password: &str) -> String {
    let response = pipeline
        .http
        .post(pipeline.url("/api/v1/sessions"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("sign-in");
    assert!(
        response.status().is_success(),
        "sign-in: {}",
        response.status()
    );
    let body: Value = response.json().await.unwrap();
    body["token"].as_str().expect("token").to_string()
}

pub async fn run(pipeline: &Pipeline) -> Outcome {
    let mut o = Outcome::default();
    let a = pipeline.new_user("UTC").await;
    let b = pipeline.new_user("UTC").await;
    o.users = [&a, &b]
        .iter()
        .map(|s| s.user_id.parse().unwrap())
        .collect();
    let a_device = a.device("iphone", "abuse-a").await;
    let b_device = b.device("iphone", "abuse-b").await;
    let http = &pipeline.http;
    let sync = pipeline.url(&format!("/api/v1/devices/{a_device}/sync"));
    let post_raw = |body: Vec<u8>| {
        http.post(&sync)
            .bearer_auth(&a.token)
            .header("content-type", "application/json")
            .body(body)
    };

    over_the_limit(&mut o, pipeline, &a, &a_device).await;
    let deep = format!(
        r#"{{"samples": {}{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    o.expect_4xx("JSON nested 100,000 deep", post_raw(deep.into_bytes()))
        .await;
    for value in ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"] {
        let body = format!(
            r#"{{"samples": [{{"type": "STEPS", "value": {value}, "unit": "count",
                "start_date": "2026-10-20T08:00:00Z", "end_date": "2026-10-20T08:10:00Z"}}]}}"#
        );
        o.expect_4xx(
            "NaN, Infinity, 1e400 as values",
            post_raw(body.into_bytes()),
        )
        .await;
    }
    let mut invalid = br#"{"samples": [{"type": "STEPS"#.to_vec();
    invalid.extend_from_slice(&[0xff, 0xfe, 0xfd]);
    invalid.extend_from_slice(br#"", "value": 1}]}"#);
    o.expect_4xx("invalid UTF-8", post_raw(invalid)).await;
    // Twice the samples a sync takes, in a body under the byte limit, so the count is what
    // refuses it (a body over the byte limit is answered before it is read: above).
    let many: Vec<Value> = (0..20_000)
        .map(|_| sample("2026-10-20T08:00:00Z", "2026-10-20T08:01:00Z"))
        .collect();
    o.expect_4xx(
        "20,000 samples in one sync (a sync takes 10,000)",
        http.post(&sync)
            .bearer_auth(&a.token)
            .json(&json!({"samples": many})),
    )
    .await;
    for (start, end) in [
        ("9999-12-31T08:00:00Z", "9999-12-31T09:00:00Z"),
        ("1969-12-31T08:00:00Z", "1969-12-31T09:00:00Z"),
    ] {
        o.expect_4xx(
            "years 9999 and 1969",
            http.post(&sync)
                .bearer_auth(&a.token)
                .json(&json!({"samples": [sample(start, end)]})),
        )
        .await;
    }

    injection(&mut o, pipeline, &a, &sync).await;
    ids_and_other_users(&mut o, pipeline, &a, &b, &b_device).await;
    tokens(&mut o, pipeline).await;
    brute_force(&mut o, pipeline).await;
    slow_body(&mut o, pipeline, &a, &a_device).await;

    o.expect_success(
        "the gateway still answers after the abuse",
        http.get(pipeline.url("/healthz")),
    )
    .await;
    o
}

/// SQL-injection strings in every text field whose format is constrained.
async fn injection(o: &mut Outcome, pipeline: &Pipeline, a: &Session, sync: &str) {
    let http = &pipeline.http;
    const KIND: &str = "SQL-injection strings in text fields";
    let mut sign_ups = vec![
        json!({"email": INJECTION, "password": "correct horse battery", "name": "x"}),
        json!({"email": format!("{}@example.org", unique("inj")), "password": "correct horse battery",
               "name": "x", "timezone": INJECTION}),
    ];
    for body in sign_ups.drain(..) {
        o.expect_4xx(KIND, http.post(pipeline.url("/api/v1/users")).json(&body))
            .await;
    }
    o.expect_4xx(
        KIND,
        http.post(pipeline.url("/api/v1/sessions"))
            .json(&json!({"email": INJECTION, "password": INJECTION})),
    )
    .await;
    for field in ["type", "unit", "start_date", "id"] {
        let mut bad = sample("2026-10-20T08:00:00Z", "2026-10-20T08:10:00Z");
        bad[field] = json!(INJECTION);
        o.expect_4xx(
            KIND,
            http.post(sync)
                .bearer_auth(&a.token)
                .json(&json!({"samples": [bad]})),
        )
        .await;
    }
    o.expect_4xx(
        KIND,
        http.post(pipeline.url("/api/v1/devices"))
            .bearer_auth(&a.token)
            .json(&json!({"device_type": INJECTION, "device_name": "x", "device_identifier": "y"})),
    )
    .await;
    // A device's name and identifier are free text: an injection string is a valid name,
    // stored as it is and read back unchanged.
    let registered = a
        .post(
            "/api/v1/devices",
            json!({"device_type": "iphone", "device_name": INJECTION, "device_identifier": INJECTION}),
        )
        .await;
    let listed: Value = a
        .get("/api/v1/devices")
        .await
        .json()
        .await
        .unwrap_or_default();
    let stored = listed.as_array().is_some_and(|devices| {
        devices.iter().any(|d| {
            d["device_name"] == json!(INJECTION) && d["device_identifier"] == json!(INJECTION)
        })
    });
    if registered.status().is_success() && stored {
        o.verbatim += 1;
    } else {
        o.failures.push(format!(
            "an injection string as a device name: {} and stored verbatim: {stored}",
            registered.status()
        ));
    }
    for query in [
        format!("/api/v1/aggregates?type=STEPS&period={INJECTION}&from=2026-10-20&to=2026-10-21"),
        format!("/api/v1/aggregates?type={INJECTION}&period=day&from=2026-10-20&to=2026-10-21"),
        format!("/api/v1/summary?date={INJECTION}"),
    ] {
        o.expect_4xx(KIND, http.get(pipeline.url(&query)).bearer_auth(&a.token))
            .await;
    }
}

/// Path traversal, ids that are not UUIDs, and other users' devices and ids.
async fn ids_and_other_users(
    o: &mut Outcome,
    pipeline: &Pipeline,
    a: &Session,
    b: &Session,
    b_device: &str,
) {
    let http = &pipeline.http;
    let one = json!({"samples": [sample("2026-10-20T08:00:00Z", "2026-10-20T08:10:00Z")]});
    for path in [
        "/api/v1/devices/%2e%2e%2f%2e%2e%2fetc%2fpasswd/sync",
        "/api/v1/devices/not-a-uuid/sync",
        "/api/v1/devices/..%2Fusers/sync",
    ] {
        o.expect_4xx(
            "path traversal and non-UUID ids",
            http.post(pipeline.url(path))
                .bearer_auth(&a.token)
                .json(&one),
        )
        .await;
    }
    o.expect_4xx(
        "path traversal and non-UUID ids",
        http.post(pipeline.url("/api/v1/insights/%2e%2e%2fx/acknowledge"))
            .bearer_auth(&a.token),
    )
    .await;
    const KIND: &str = "other users' devices and ids";
    o.expect_4xx(
        KIND,
        http.post(pipeline.url(&format!("/api/v1/devices/{b_device}/sync")))
            .bearer_auth(&a.token)
            .json(&one),
    )
    .await;
    o.expect_4xx(
        KIND,
        http.patch(pipeline.url(&format!("/api/v1/devices/{b_device}")))
            .bearer_auth(&a.token)
            .json(&json!({"priority": 1})),
    )
    .await;
    o.expect_4xx(
        KIND,
        http.post(pipeline.url(&format!("/api/v1/insights/{}/acknowledge", Uuid::new_v4())))
            .bearer_auth(&a.token),
    )
    .await;
    o.expect_4xx(
        KIND,
        http.get(pipeline.url("/api/v1/me"))
            .bearer_auth(format!("{}x", b.token)),
    )
    .await;
}

/// Expired, signed-out and malformed credentials.
async fn tokens(o: &mut Outcome, pipeline: &Pipeline) {
    let http = &pipeline.http;
    let me = pipeline.url("/api/v1/me");
    let (email, password) = account(pipeline).await;
    let signed_out = sign_in(pipeline, &email, &password).await;
    o.expect_success(
        "signing out",
        http.delete(pipeline.url("/api/v1/sessions/current"))
            .bearer_auth(&signed_out),
    )
    .await;
    o.expect_4xx(
        "expired and signed-out tokens",
        http.get(&me).bearer_auth(&signed_out),
    )
    .await;
    let expired = sign_in(pipeline, &email, &password).await;
    let client = crate::common::seeded::connect(&pipeline.database_url).await;
    client
        .execute(
            "UPDATE sessions SET expires_at = now() - interval '1 minute' \
             WHERE user_id = (SELECT id FROM users WHERE email = $1)",
            &[&email],
        )
        .await
        .expect("expire the sessions");
    o.expect_4xx(
        "expired and signed-out tokens",
        http.get(&me).bearer_auth(&expired),
    )
    .await;
    let long = format!("Bearer {}", "a".repeat(10_000));
    for header in [
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "bearer\tx y z",
        long.as_str(),
        "Bearer \u{7f}\u{1}",
    ] {
        let request = match reqwest::header::HeaderValue::from_bytes(header.as_bytes()) {
            Ok(value) => http.get(&me).header("authorization", value),
            Err(_) => continue,
        };
        o.expect_4xx("malformed Authorization headers", request)
            .await;
    }
}

/// Many wrong passwords for one account: each refused, and no one else is locked out.
async fn brute_force(o: &mut Outcome, pipeline: &Pipeline) {
    let (victim, _) = account(pipeline).await;
    let (other, other_password) = account(pipeline).await;
    for i in 0..30 {
        o.expect_4xx(
            "brute-force logins (30 wrong passwords)",
            pipeline
                .http
                .post(pipeline.url("/api/v1/sessions"))
                .json(&json!({"email": victim, "password": format!("guess number {i}")})),
        )
        .await;
    }
    o.expect_success(
        "another user's correct password during the brute force",
        pipeline
            .http
            .post(pipeline.url("/api/v1/sessions"))
            .json(&json!({"email": other, "password": other_password})),
    )
    .await;
}

/// Sends a sync's head declaring `length` bytes and then only `start` of the body over a
/// raw connection, and reads until the gateway answers and closes. The answer must have the
/// status `expected`.
async fn half_a_sync(
    o: &mut Outcome,
    kind: &'static str,
    pipeline: &Pipeline,
    (a, device): (&Session, &str),
    (length, start): (usize, &str),
    expected: u16,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = pipeline.base_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the gateway");
    let head = format!(
        "POST /api/v1/devices/{device}/sync HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {}\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\n\r\n{start}",
        a.token
    );
    stream
        .write_all(head.as_bytes())
        .await
        .expect("send the head");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    let status_line = text.lines().next().unwrap_or_default().to_string();
    let rejected = match read {
        Ok(Ok(_)) if status_line.starts_with(&format!("HTTP/1.1 {expected}")) => true,
        Ok(_) => {
            o.failures.push(format!(
                "{kind}: answered {status_line:?} instead of {expected}"
            ));
            false
        }
        Err(_) => {
            o.failures
                .push(format!("{kind}: the connection was still held after 20 s"));
            false
        }
    };
    o.count(kind, rejected);
}

/// A body declared larger than a sync takes (6 MiB): refused from its Content-Length with a
/// 413 before any of it is read. (Sent as a head alone: a client still writing a body the
/// server has refused may see its connection reset before it reads the answer.)
async fn over_the_limit(o: &mut Outcome, pipeline: &Pipeline, a: &Session, device: &str) {
    let declared = (6 << 20, r#"{"samples": ["#);
    let kind = "body over the limit (6 MiB)";
    half_a_sync(o, kind, pipeline, (a, device), declared, 413).await;
}

/// A body that starts and never finishes: the gateway answers 408 once its body read timeout
/// (2 s in the suite) has passed, and closes the connection.
async fn slow_body(o: &mut Outcome, pipeline: &Pipeline, a: &Session, device: &str) {
    let declared = (1000, r#"{"samples": ["#);
    let kind = "slow body (stops halfway)";
    half_a_sync(o, kind, pipeline, (a, device), declared, 408).await;
}
