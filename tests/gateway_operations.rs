//! The gateway's operational surface on the real stack: liveness, readiness (and its 503 when
//! a dependency is down), the Prometheus metrics, the request id on every answer, 405 with
//! `Allow`, and the OpenAPI document it serves.

mod common;

use std::collections::HashSet;

use common::Pipeline;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn healthz_and_readyz_answer_and_readyz_fails_without_the_registry() {
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
        json!({"database": true, "kafka": true, "registry": true})
    );

    let mut config = pipeline.gateway_config();
    config.registry_url = "http://127.0.0.1:9".into();
    let broken = std::sync::Arc::new(healthpipe_gateway::AppState::connect(config).await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/readyz", listener.local_addr().unwrap());
    tokio::spawn(healthpipe_gateway::serve_listener(
        listener,
        broken,
        std::future::pending(),
    ));
    let response = pipeline.http.get(url).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"database": true, "kafka": true, "registry": false})
    );
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
        .delete(pipeline.url("/api/v1/me"))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, PATCH");
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
