//! Accounts, sessions and roles at the gateway on the real stack: sign-up rules, Argon2id
//! hashes and hashed tokens at rest, indistinguishable failed sign-ins, rate limits per account
//! and per address, sign-out, the profile, and roles per endpoint.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::{unique, Pipeline};
use serde_json::{json, Value};

async fn db(pipeline: &Pipeline) -> tokio_postgres::Client {
    let (client, connection) =
        tokio_postgres::connect(&pipeline.database_url, tokio_postgres::NoTls)
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
    client
        .post(pipeline.url("/api/v1/sessions"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn repeated_failures_are_rate_limited_per_account_and_per_address() {
    let pipeline = Pipeline::without_processor().await;
    // Per account: five failures from five addresses lock the account, even for the right
    // password from a sixth address.
    let locked = new_account(&pipeline).await;
    for i in 0..5 {
        let http = client_from(&format!("127.0.0.{}", 30 + i));
        let response = sign_in(&pipeline, &http, &locked, "not the password").await;
        assert_eq!(response.status(), 401);
    }
    let response = sign_in(&pipeline, &client_from("127.0.0.40"), &locked, PASSWORD).await;
    assert_eq!(response.status(), 429);
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

    // Per address: five failures on five accounts lock the address, not the accounts.
    let other = new_account(&pipeline).await;
    let noisy = client_from("127.0.0.50");
    for i in 0..5 {
        let response = sign_in(
            &pipeline,
            &noisy,
            &format!("unknown-{i}@example.org"),
            "whatever pw",
        )
        .await;
        assert_eq!(response.status(), 401);
    }
    let response = sign_in(&pipeline, &noisy, &other, PASSWORD).await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let response = sign_in(&pipeline, &client_from("127.0.0.51"), &other, PASSWORD).await;
    assert_eq!(response.status(), 200);
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
    let email = format!("{}@example.org", unique("provider"));
    let response = sign_up(
        &pipeline,
        json!({"email": email, "password": PASSWORD, "name": "Dr P", "role": "provider"}),
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.json::<Value>().await.unwrap()["role"], "provider");
    let token: String = sign_in(&pipeline, &pipeline.http, &email, PASSWORD)
        .await
        .json::<Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
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
