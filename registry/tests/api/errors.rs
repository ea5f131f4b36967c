//! Error answers: always Confluent's `{"error_code", "message"}` in its content type.

use serde_json::json;
use warp::http::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn unknown_paths_and_methods_get_confluents_plain_404() {
    let registry = TestRegistry::fresh().await;
    let probes = [
        ("GET", "/associations/resources/-/healthpipe.user-events"),
        ("GET", "/nope"),
        ("GET", "/subjects/s/versions/1/extra"),
        ("GET", "/schemas/ids/not-a-number"),
        ("DELETE", "/subjects/s"),
        ("DELETE", "/subjects/s/versions/1"),
        ("PATCH", "/config"),
        ("POST", "/schemas/ids/1"),
    ];
    for (method, path) in probes {
        let answer = registry.send(method, path, None).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(
            answer.body,
            json!({"error_code": 404, "message": "HTTP 404 Not Found"}),
            "{method} {path}"
        );
        assert_eq!(answer.content_type, CT_V1, "{method} {path}");
    }
    registry.cleanup().await;
}

#[tokio::test]
async fn missing_things_have_their_own_codes() {
    let registry = TestRegistry::fresh().await;
    registry.register_ok("s", &v1()).await;
    let cases = [
        ("/schemas/ids/999", 40403),
        ("/schemas/ids/999/schema", 40403),
        ("/schemas/ids/999/versions", 40403),
        ("/subjects/nobody/versions", 40401),
        ("/subjects/nobody/versions/1", 40401),
        ("/subjects/nobody/versions/latest", 40401),
        ("/subjects/s/versions/9", 40402),
        ("/subjects/s/versions/9/schema", 40402),
    ];
    for (path, code) in cases {
        let answer = registry.get(path).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}: {answer:?}");
        assert_eq!(answer.error_code(), code, "{path}");
    }
    for bad_version in ["abc", "0", "-2"] {
        let answer = registry
            .get(&format!("/subjects/s/versions/{bad_version}"))
            .await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad_version}"
        );
        assert_eq!(answer.error_code(), 42202, "{bad_version}");
    }
    registry.cleanup().await;
}

#[tokio::test]
async fn malformed_bodies_get_json_errors() {
    let registry = TestRegistry::fresh().await;
    let malformed = registry
        .send("POST", "/subjects/s/versions", Some("{\"schema\":"))
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.error_code(), 400);
    let wrong_shape = registry
        .send("POST", "/subjects/s/versions", Some("{\"schema\": 5}"))
        .await;
    assert_eq!(wrong_shape.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong_shape.error_code(), 422);
    let missing = registry
        .send("POST", "/subjects/s/versions", Some("{}"))
        .await;
    assert_eq!(missing.error_code(), 422);

    let body = serde_json::json!({ "schema": v1() }).to_string();
    let plain_text = warp::test::request()
        .method("POST")
        .path("/subjects/s/versions")
        .header("content-type", "text/plain")
        .body(&body)
        .reply(&healthpipe_registry::routes(registry.store.clone()))
        .await;
    let plain_text = answer(plain_text);
    assert_eq!(plain_text.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(plain_text.error_code(), 415);

    let huge = format!("{{\"schema\": \"{}\"}}", "x".repeat(5 * 1024 * 1024));
    let too_large = registry
        .send("POST", "/subjects/s/versions", Some(&huge))
        .await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(too_large.error_code(), 413);
    registry.cleanup().await;
}

#[tokio::test]
async fn every_accepted_content_type_registers() {
    let registry = TestRegistry::fresh().await;
    let body = serde_json::json!({ "schema": v1() }).to_string();
    let types = [
        Some("application/vnd.schemaregistry.v1+json"),
        Some("application/vnd.schemaregistry+json"),
        Some("application/json; charset=utf-8"),
        Some("application/octet-stream"),
        None,
    ];
    for content_type in types {
        let mut request = warp::test::request()
            .method("POST")
            .path("/subjects/s/versions")
            .body(&body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let reply = answer(
            request
                .reply(&healthpipe_registry::routes(registry.store.clone()))
                .await,
        );
        assert_eq!(reply.status, StatusCode::OK, "{content_type:?}: {reply:?}");
    }
    registry.cleanup().await;
}
