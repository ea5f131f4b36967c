//! The gateway's operational surface on the real stack: liveness, readiness (503 when the
//! database is down, not when the registry is), the Prometheus metrics, the request id on every answer, 405 with
//! `Allow`, and the OpenAPI document it serves.

mod common;

use std::collections::HashSet;

use common::Pipeline;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readiness_reflects_what_the_pod_needs_and_not_the_registry() {
    let pipeline = Pipeline::without_processor().await;
    let response = pipeline
        .http
        .get(pipeline.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"status": "ok"})
    );
    let response = pipeline
        .http
        .get(pipeline.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"database": true, "kafka": true})
    );

    // A registry blip leaves the pod in service: reads never need the registry.
    let mut config = pipeline.gateway_config();
    config.registry_url = "http://127.0.0.1:9".into();
    let url = format!("{}/readyz", pipeline.start_gateway_with(config).await);
    let response = pipeline.http.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);

    // A database that does not answer takes it out, and readiness says so within a
    // Kubernetes probe's default timeout (1 s) instead of hanging on the connection.
    // A loopback port that takes connections and never answers: a hung database.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = pipeline.gateway_config();
    config.database_url = format!(
        "postgres://healthpipe@{}/nowhere",
        hung.local_addr().unwrap()
    );
    let url = format!("{}/readyz", pipeline.start_gateway_with(config).await);
    let response = pipeline
        .http
        .get(url)
        .timeout(std::time::Duration::from_secs(1))
        .send()
        .await
        .expect("readiness answers within the probe timeout");
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"database": false, "kafka": true})
    );
}

/// A producer that makes no progress (here: no broker answers) is replaced by a new client
/// once the stall window has passed, says so in the metrics, and the pod stays in service:
/// appends answer 503 with nothing stored, reads go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_producer_without_progress_is_replaced_and_the_pod_stays_in_service() {
    let pipeline = Pipeline::without_processor().await;
    let user = pipeline.new_user("UTC").await;
    let device = user.device("iphone", "phone").await;
    let mut config = pipeline.gateway_config_without_kafka();
    config.kafka_stall_timeout = std::time::Duration::from_secs(2);
    let base = pipeline.start_gateway_with(config).await;

    let sync = pipeline
        .http
        .post(format!("{base}/api/v1/devices/{device}/sync"))
        .bearer_auth(&user.token)
        .json(
            &json!({"samples": [{"type": "STEPS", "value": 5, "unit": "count",
            "start_date": "2026-05-04T08:00:00Z", "end_date": "2026-05-04T08:10:00Z"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(sync.status(), 503);

    let replaced = || async {
        let text = pipeline
            .http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find(|l| {
                l.starts_with("healthpipe_kafka_client_replacements_total{client=\"gateway\"}")
            })
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let ready = pipeline
            .http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            ready.status(),
            200,
            "a broker down for everyone keeps the pod in service"
        );
        if replaced().await >= 1.0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the stalled producer was not replaced within 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let read = user.get("/api/v1/devices").await;
    assert_eq!(read.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_expose_the_named_families() {
    let pipeline = Pipeline::without_processor().await;
    let user = pipeline.new_user("UTC").await;
    let device = user.device("iphone", "phone").await;
    let response = user
        .post(
            &format!("/api/v1/devices/{device}/sync"),
            json!({"samples": [
                {"type": "STEPS", "value": 5, "unit": "count",
                 "start_date": "2026-05-04T08:00:00Z", "end_date": "2026-05-04T08:10:00Z"},
                {"type": "STEPS", "value": 5, "unit": "count", "id": "not-a-uuid",
                 "start_date": "2026-05-04T08:00:00Z", "end_date": "2026-05-04T08:10:00Z"},
            ]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let response = pipeline
        .http
        .get(pipeline.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = response.text().await.unwrap();
    for family in [
        "# TYPE healthpipe_gateway_request_duration_seconds histogram",
        "# TYPE healthpipe_gateway_requests_in_flight gauge",
        "# TYPE healthpipe_gateway_samples_total counter",
        "# TYPE healthpipe_gateway_kafka_produce_duration_seconds histogram",
        "healthpipe_gateway_request_duration_seconds_bucket{route=\"/api/v1/devices/{id}/sync\",status=\"200\"",
        "healthpipe_gateway_samples_total{outcome=\"accepted\"}",
        "healthpipe_gateway_samples_total{outcome=\"invalid_id\"}",
    ] {
        assert!(text.contains(family), "{family} missing from:\n{text}");
    }
    // No raw ids in labels: routes are templates.
    assert!(!text.contains(&device), "a device id leaked into a label");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_answer_carries_a_request_id_and_other_methods_get_405_with_allow() {
    let pipeline = Pipeline::without_processor().await;
    let user = pipeline.new_user("UTC").await;
    let http = &pipeline.http;
    let requests = [
        http.get(pipeline.url("/healthz")),
        http.get(pipeline.url("/metrics")),
        http.get(pipeline.url("/api/v1/openapi.json")),
        http.get(pipeline.url("/api/v1/me")),
        http.get(pipeline.url("/api/v1/me"))
            .bearer_auth(&user.token),
        http.get(pipeline.url("/no/such/path")),
        http.put(pipeline.url("/api/v1/devices")),
        http.post(pipeline.url("/api/v1/users")).body("{oops"),
    ];
    let mut ids = HashSet::new();
    for request in requests {
        let response = request.send().await.unwrap();
        let id = response
            .headers()
            .get("x-request-id")
            .unwrap_or_else(|| panic!("{} has no x-request-id", response.url()))
            .to_str()
            .unwrap()
            .to_string();
        assert!(uuid::Uuid::parse_str(&id).is_ok());
        assert!(ids.insert(id), "request ids are unique");
    }

    let response = http
        .put(pipeline.url("/api/v1/devices"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, POST");
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "method_not_allowed"
    );
    let response = http
        .put(pipeline.url("/api/v1/me"))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, PATCH, DELETE");
    let response = http
        .get(pipeline.url("/api/v1/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "not_found"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_openapi_document_is_served_and_describes_every_route() {
    let pipeline = Pipeline::without_processor().await;
    let response = pipeline
        .http
        .get(pipeline.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let doc: Value = response.json().await.unwrap();
    assert_eq!(
        doc,
        serde_json::from_str::<Value>(healthpipe_gateway::OPENAPI_JSON).unwrap()
    );
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for (path, method) in [
        ("/api/v1/users", "post"),
        ("/api/v1/sessions", "post"),
        ("/api/v1/sessions/current", "delete"),
        ("/api/v1/me", "get"),
        ("/api/v1/me", "patch"),
        ("/api/v1/devices", "post"),
        ("/api/v1/devices", "get"),
        ("/api/v1/devices/{id}", "patch"),
        ("/api/v1/devices/{id}/sync", "post"),
        ("/api/v1/samples", "delete"),
        ("/api/v1/aggregates", "get"),
        ("/api/v1/aggregates/explain", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
    let coverage = &doc["components"]["schemas"]["Coverage"]["properties"];
    assert!(coverage["time_fraction"].is_object() && coverage["devices"].is_object());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}
