//! Accounts, sessions and roles at the gateway on the real stack: sign-up rules, Argon2id
//! hashes and hashed tokens at rest, indistinguishable failed sign-ins, sign-in back-off per
//! account and per (account, address) that never locks out other accounts or fresh addresses,
//! shared by replicas and counted before the password is checked, sign-out, the profile, and roles per endpoint.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::{unique, Pipeline};
use serde_json::{json, Value};

async fn db(pipeline: &Pipeline) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(
        &pipeline.database_url,
        healthpipe_storage::pool::tls().expect("TLS connector"),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    client
}

const PASSWORD: &str = "correct horse battery";

async fn sign_up(pipeline: &Pipeline, body: Value) -> reqwest::Response {
    pipeline
        .http
        .post(pipeline.url("/api/v1/users"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A client whose requests come from `ip` (any 127.x address reaches the gateway).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn sign_in(
    pipeline: &Pipeline,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> reqwest::Response {
    sign_in_at(&pipeline.base_url, client, &[], email, password).await
}

async fn new_account(pipeline: &Pipeline) -> String {
    let email = format!("{}@example.org", unique("acct"));
    let response = sign_up(
        pipeline,
        json!({"email": email, "password": PASSWORD, "name": "A"}),
    )
    .await;
    assert_eq!(response.status(), 201);
    email
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sign_up_answers_201_then_409_for_a_taken_email() {
    let pipeline = Pipeline::without_processor().await;
    let email = format!("{}@Example.org", unique("Signup"));
    let response = sign_up(
        &pipeline,
        json!({"email": email, "password": PASSWORD, "name": " Ada ", "timezone": "Europe/Berlin"}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["email"], email.to_lowercase());
    assert_eq!(user["name"], "Ada");
    assert_eq!(user["timezone"], "Europe/Berlin");
    assert_eq!(user["role"], "user");
    assert!(uuid::Uuid::parse_str(user["id"].as_str().unwrap()).is_ok());

    // The same address in other case is the same account.
    let response = sign_up(
        &pipeline,
        json!({"email": email.to_uppercase(), "password": PASSWORD, "name": "B"}),
    )
    .await;
    assert_eq!(response.status(), 409);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "conflict");

    // Without a zone the account is in UTC.
    let response = sign_up(
        &pipeline,
        json!({"email": format!("{}@example.org", unique("utc")), "password": PASSWORD, "name": "C"}),
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.json::<Value>().await.unwrap()["timezone"], "UTC");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sign_up_refuses_short_passwords_unknown_zones_and_bad_fields_with_422() {
    let pipeline = Pipeline::without_processor().await;
    let email = || format!("{}@example.org", unique("bad"));
    let cases = [
        (
            json!({"email": email(), "password": "123456789", "name": "A"}),
            "password",
        ),
        (
            json!({"email": email(), "password": PASSWORD, "name": "A", "timezone": "Mars/Olympus"}),
            "timezone",
        ),
        (
            json!({"email": email(), "password": PASSWORD, "name": "A", "timezone": "europe/berlin"}),
            "timezone",
        ),
        (
            json!({"email": "no-at-sign", "password": PASSWORD, "name": "A"}),
            "email",
        ),
        (
            json!({"email": email(), "password": PASSWORD, "name": "   "}),
            "name",
        ),
        (json!({"email": email(), "password": PASSWORD}), "name"),
        (
            json!({"email": email(), "password": PASSWORD, "name": "A", "role": "admin"}),
            "role",
        ),
    ];
    for (body, field) in cases {
        let response = sign_up(&pipeline, body.clone()).await;
        assert_eq!(response.status(), 422, "{body}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["error"], "unprocessable");
        assert!(
            answer["message"].as_str().unwrap().contains(field),
            "{body}: {answer}"
        );
    }
    // Ten characters are enough.
    let response = sign_up(
        &pipeline,
        json!({"email": email(), "password": "1234567890", "name": "A"}),
    )
    .await;
    assert_eq!(response.status(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn passwords_are_stored_as_argon2id_and_tokens_only_as_digests() {
    let pipeline = Pipeline::without_processor().await;
    let session = pipeline.new_user("UTC").await;
    let client = db(&pipeline).await;
    let hash: String = client
        .query_one(
            "SELECT password_hash FROM users WHERE id = $1::text::uuid",
            &[&session.user_id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(PASSWORD));

    let rows = client
        .query(
            "SELECT s::text, encode(token_hash, 'hex') FROM sessions s WHERE user_id = $1::text::uuid",
            &[&session.user_id],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let row_text: String = rows[0].get(0);
    let digest: String = rows[0].get(1);
    let token = &session.token;
    let secret = token.trim_start_matches("hp_");
    assert!(!row_text.contains(secret), "the raw token is stored");
    assert!(!digest.contains(secret));
    // The stored digest is SHA-256 of the token (computed here by PostgreSQL).
    let expected: String = client
        .query_one("SELECT encode(sha256($1), 'hex')", &[&token.as_bytes()])
        .await
        .unwrap()
        .get(0);
    assert_eq!(digest, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unknown_email_and_a_wrong_password_get_the_same_401_in_the_same_time() {
    let pipeline = Pipeline::without_processor().await;
    let email = new_account(&pipeline).await;
    let http = client_from("127.0.0.21");
    let mut timings = Vec::new();
    let mut bodies = Vec::new();
    for (email, password) in [
        (email.as_str(), "wrong password!"),
        ("nobody@example.org", "wrong password!"),
        (email.as_str(), "wrong password?"),
        ("nobody-else@example.org", "wrong password?"),
    ] {
        let started = Instant::now();
        let response = sign_in(&pipeline, &http, email, password).await;
        timings.push(started.elapsed());
        assert_eq!(response.status(), 401);
        bodies.push(response.text().await.unwrap());
    }
    assert!(bodies.iter().all(|b| *b == bodies[0]), "{bodies:?}");
    // Both paths verify an Argon2id hash: neither is an order of magnitude faster.
    let wrong = timings[0].min(timings[2]);
    let unknown = timings[1].min(timings[3]);
    let ratio = unknown.as_secs_f64() / wrong.as_secs_f64();
    assert!(
        (0.25..4.0).contains(&ratio),
        "wrong password {wrong:?}, unknown email {unknown:?}"
    );
}

/// Signs in at the gateway `base` from `client`, with extra `headers`.
async fn sign_in_at(
    base: &str,
    client: &reqwest::Client,
    headers: &[(&str, &str)],
    email: &str,
    password: &str,
) -> reqwest::Response {
    let mut request = client
        .post(format!("{base}/api/v1/sessions"))
        .json(&json!({"email": email, "password": password}));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failures_from_one_address_never_block_another_account() {
    let pipeline = Pipeline::without_processor().await;
    // One address for many people (a NAT, a load balancer): someone guesses unknown
    // emails, someone else mistypes their own password until they are told to wait.
    let shared = client_from("127.0.0.50");
    for i in 0..6 {
        let email = format!("unknown-{i}@example.org");
        let response = sign_in(&pipeline, &shared, &email, "whatever pw").await;
        assert_eq!(response.status(), 401);
    }
    let typist = new_account(&pipeline).await;
    for _ in 0..5 {
        let response = sign_in(&pipeline, &shared, &typist, "not the password").await;
        assert_eq!(response.status(), 401);
    }
    let response = sign_in(&pipeline, &shared, &typist, PASSWORD).await;
    assert_eq!(response.status(), 429, "the typist waits");
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 0);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "too_many_requests"
    );
    // Another account behind the same address signs in at once.
    let other = new_account(&pipeline).await;
    let response = sign_in(&pipeline, &shared, &other, PASSWORD).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_right_password_from_a_fresh_address_is_never_refused() {
    let pipeline = Pipeline::without_processor().await;
    let account = new_account(&pipeline).await;
    // The account's 20 free failures, five from each of four addresses (in turn, so that
    // none of them is refused by the account-wide back-off before the 20th)...
    for i in 0..4 {
        let client = client_from(&format!("127.0.0.{}", 30 + i));
        for _ in 0..5 {
            let status = sign_in_at(
                &pipeline.base_url,
                &client,
                &[],
                &account,
                "not the password",
            )
            .await
            .status();
            assert_eq!(status, 401);
        }
    }
    // ...and one more from a fifth address, fresh until then, so still checked.
    let status = sign_in_at(
        &pipeline.base_url,
        &client_from("127.0.0.34"),
        &[],
        &account,
        "nope nope",
    )
    .await
    .status();
    assert_eq!(status, 401);
    // An address that failed on the account waits for the account-wide back-off...
    let response = sign_in(&pipeline, &client_from("127.0.0.34"), &account, PASSWORD).await;
    assert_eq!(response.status(), 429);
    // ...a fresh one is let in.
    let response = sign_in(&pipeline, &client_from("127.0.0.40"), &account, PASSWORD).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_are_counted_before_the_password_is_checked() {
    let pipeline = Pipeline::without_processor().await;
    let account = new_account(&pipeline).await;
    let client = client_from("127.0.0.60");
    let mut guesses = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let (base, client, account) = (pipeline.base_url.clone(), client.clone(), account.clone());
        guesses.spawn(async move {
            sign_in_at(&base, &client, &[], &account, "not the password")
                .await
                .status()
        });
    }
    let mut statuses = Vec::new();
    while let Some(status) = guesses.join_next().await {
        statuses.push(status.unwrap());
    }
    let checked = statuses.iter().filter(|s| s.as_u16() == 401).count();
    let refused = statuses.iter().filter(|s| s.as_u16() == 429).count();
    assert_eq!(
        (checked, refused),
        (5, 7),
        "five free failures, the rest refused: {statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_share_the_count() {
    let pipeline = Pipeline::without_processor().await;
    let replica = pipeline.start_gateway_with(pipeline.gateway_config()).await;
    let account = new_account(&pipeline).await;
    let client = client_from("127.0.0.70");
    for base in [
        &pipeline.base_url,
        &pipeline.base_url,
        &pipeline.base_url,
        &replica,
        &replica,
    ] {
        let status = sign_in_at(base, &client, &[], &account, "not the password")
            .await
            .status();
        assert_eq!(status, 401);
    }
    // Five failures in all, on two replicas: the first one refuses the sixth attempt too.
    let status = sign_in_at(&pipeline.base_url, &client, &[], &account, PASSWORD)
        .await
        .status();
    assert_eq!(status, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn behind_a_trusted_proxy_the_forwarded_client_is_counted() {
    let pipeline = Pipeline::without_processor().await;
    let proxied = pipeline
        .start_gateway_with(healthpipe_gateway::GatewayConfig {
            trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
            ..pipeline.gateway_config()
        })
        .await;
    let account = new_account(&pipeline).await;
    let proxy = client_from("127.0.0.1");
    let from = |client: &'static str| [("x-forwarded-for", client)];
    for _ in 0..5 {
        let status = sign_in_at(
            &proxied,
            &proxy,
            &from("198.51.100.1"),
            &account,
            "nope nope",
        )
        .await
        .status();
        assert_eq!(status, 401);
    }
    let status = sign_in_at(&proxied, &proxy, &from("198.51.100.1"), &account, PASSWORD)
        .await
        .status();
    assert_eq!(status, 429, "the client that failed waits");
    let status = sign_in_at(&proxied, &proxy, &from("198.51.100.2"), &account, PASSWORD)
        .await
        .status();
    assert_eq!(status, 200, "another client behind the same proxy does not");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_overlong_login_email_is_refused_and_nothing_is_kept() {
    let pipeline = Pipeline::without_processor().await;
    let email = format!("{}@example.org", "a".repeat(60_000));
    let response = sign_in(&pipeline, &client_from("127.0.0.80"), &email, "whatever pw").await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("email"),
        "{body}"
    );
    let kept: i64 = db(&pipeline)
        .await
        .query_one("SELECT count(*) FROM login_failures", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept, 0);
}

/// The read endpoints start from the sessions the gateway remembers, and confirm them with
/// their first statement. A session ended behind this gateway's back (signed out through
/// another instance, or expired) still ends every read at once, a read with a bad
/// parameter included: 401, never the data, never the 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_ended_behind_the_gateways_back_ends_its_reads_at_once() {
    use sha2::{Digest, Sha256};
    let pipeline = Pipeline::without_processor().await;
    let reads = [
        "/api/v1/aggregates?type=STEPS&period=day&from=2026-05-01&to=2026-05-02",
        "/api/v1/samples?type=STEPS&from=2026-05-01&to=2026-05-01",
        "/api/v1/summary?date=2026-05-01",
        "/api/v1/insights",
        "/api/v1/aggregates/explain?type=STEPS&period=day&period_start=2026-05-01T00:00:00Z",
    ];
    let bad_parameter = "/api/v1/summary?date=yesterday";
    let endings = [
        "DELETE FROM sessions WHERE token_hash = $1",
        "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1",
    ];
    let db = db(&pipeline).await;
    for ending in endings {
        let session = pipeline.new_user("UTC").await;
        // Twice: the second round starts from the remembered session.
        for path in reads.iter().chain(&reads) {
            assert_eq!(session.get(path).await.status(), 200, "{path}");
        }
        assert_eq!(session.get(bad_parameter).await.status(), 400);

        let digest = Sha256::digest(session.token.as_bytes()).to_vec();
        assert_eq!(db.execute(ending, &[&digest]).await.unwrap(), 1, "{ending}");
        for path in reads.iter().chain(&[bad_parameter]) {
            let response = session.get(path).await;
            assert_eq!(response.status(), 401, "{path} after {ending}");
            assert_eq!(
                response.json::<Value>().await.unwrap()["error"],
                "unauthorized"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn signing_out_kills_the_token_at_once() {
    let pipeline = Pipeline::without_processor().await;
    let session = pipeline.new_user("UTC").await;
    assert_eq!(session.get("/api/v1/me").await.status(), 200);
    let response = pipeline
        .http
        .delete(pipeline.url("/api/v1/sessions/current"))
        .bearer_auth(&session.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let response = session.get("/api/v1/me").await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "unauthorized"
    );
    // No token, or a made-up one, is the same 401.
    let response = pipeline
        .http
        .get(pipeline.url("/api/v1/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = pipeline
        .http
        .get(pipeline.url("/api/v1/me"))
        .bearer_auth("hp_made_up")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_profile_can_be_read_and_changed() {
    let pipeline = Pipeline::without_processor().await;
    let session = pipeline.new_user("UTC").await;
    let me: Value = session.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["id"], session.user_id.as_str());
    assert_eq!(me["timezone"], "UTC");
    let patch = |body: Value| common::query::patch(&session, "/api/v1/me", body);
    let response = patch(json!({"name": "Grace", "timezone": "Asia/Tokyo"})).await;
    assert_eq!(response.status(), 200);
    let changed: Value = response.json().await.unwrap();
    assert_eq!(changed["name"], "Grace");
    assert_eq!(changed["timezone"], "Asia/Tokyo");
    assert_eq!(
        patch(json!({"timezone": "Nowhere/Town"})).await.status(),
        422
    );
    assert_eq!(patch(json!({"name": ""})).await.status(), 422);
    assert_eq!(patch(json!({"nickname": "G"})).await.status(), 422);
    let me: Value = session.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["name"], "Grace");
    assert_eq!(me["timezone"], "Asia/Tokyo");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_provider_is_refused_the_user_endpoints_with_403() {
    let pipeline = Pipeline::without_processor().await;
    // Sign-up makes user accounts only: a provider is made by an operator.
    let email = format!("{}@example.org", unique("provider"));
    let response = sign_up(
        &pipeline,
        json!({"email": email, "password": PASSWORD, "name": "Dr P", "role": "provider"}),
    )
    .await;
    assert_eq!(response.status(), 422);
    let message = response.json::<Value>().await.unwrap()["message"].to_string();
    assert!(message.contains("healthpipe providers add"), "{message}");
    assert_eq!(
        sign_in(&pipeline, &pipeline.http, &email, PASSWORD)
            .await
            .status(),
        401
    );
    let (provider, _) = pipeline.new_provider("Clinic").await;
    let token = provider.token;
    let device = uuid::Uuid::new_v4();
    let http = &pipeline.http;
    let requests = [
        http.post(pipeline.url("/api/v1/devices"))
            .json(&json!({"device_type": "iphone", "device_name": "p", "device_identifier": "p"})),
        http.get(pipeline.url("/api/v1/devices")),
        http.patch(pipeline.url(&format!("/api/v1/devices/{device}")))
            .json(&json!({"priority": 1})),
        http.post(pipeline.url(&format!("/api/v1/devices/{device}/sync")))
            .json(&json!({"samples": []})),
        http.delete(pipeline.url("/api/v1/samples"))
            .json(&json!({"ids": [uuid::Uuid::new_v4()]})),
        http.get(
            pipeline.url("/api/v1/aggregates?type=STEPS&period=day&from=2026-05-01&to=2026-05-02"),
        ),
        http.get(pipeline.url(
            "/api/v1/aggregates/explain?type=STEPS&period=day&period_start=2026-05-01T00:00:00Z",
        )),
    ];
    for request in requests {
        let response = request.bearer_auth(&token).send().await.unwrap();
        let url = response.url().clone();
        assert_eq!(response.status(), 403, "{url}");
        assert_eq!(
            response.json::<Value>().await.unwrap()["error"],
            "forbidden"
        );
    }
    // The account endpoints are open to providers.
    let response = http
        .get(pipeline.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = http
        .delete(pipeline.url("/api/v1/sessions/current"))
        .bearer_auth(&token)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
}
