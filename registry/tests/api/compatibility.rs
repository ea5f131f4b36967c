//! `POST /compatibility/subjects/{s}/versions[/{v}]`, and levels applied on registration.

use serde_json::json;
use warp::http::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn the_check_answers_without_registering() {
    let registry = TestRegistry::fresh().await;
    registry.register_ok("s", &v1()).await;
    let path = "/compatibility/subjects/s/versions/latest";
    let ok = registry
        .json("POST", path, json!({"schema": with_optional_b()}))
        .await;
    assert_eq!(
        (ok.status, ok.body),
        (StatusCode::OK, json!({"is_compatible": true}))
    );
    let bad = registry
        .json("POST", path, json!({"schema": with_required_b()}))
        .await;
    assert_eq!(bad.body, json!({"is_compatible": false}));
    let verbose = registry
        .json(
            "POST",
            &format!("{path}?verbose=true"),
            json!({"schema": with_required_b()}),
        )
        .await;
    assert_eq!(verbose.body["is_compatible"], false);
    let messages = verbose.body["messages"].as_array().unwrap();
    assert!(
        messages[0].as_str().unwrap().contains("'b'"),
        "{messages:?}"
    );
    let by_number = registry
        .json(
            "POST",
            "/compatibility/subjects/s/versions/1?verbose=true",
            json!({"schema": v1()}),
        )
        .await;
    assert_eq!(
        by_number.body,
        json!({"is_compatible": true, "messages": []})
    );
    let all = registry
        .json(
            "POST",
            "/compatibility/subjects/s/versions",
            json!({"schema": with_required_b()}),
        )
        .await;
    assert_eq!(all.body, json!({"is_compatible": false}));
    assert_eq!(
        registry.get("/subjects/s/versions").await.body,
        json!([1]),
        "nothing registered"
    );
    registry.cleanup().await;
}

#[tokio::test]
async fn the_check_reports_unknown_subjects_versions_and_bad_input() {
    let registry = TestRegistry::fresh().await;
    let body = json!({"schema": v1()});
    let unknown = registry
        .json(
            "POST",
            "/compatibility/subjects/nobody/versions/latest",
            body.clone(),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.error_code(), 40401);
    // Without a version, an unknown subject accepts anything.
    let fresh = registry
        .json(
            "POST",
            "/compatibility/subjects/nobody/versions",
            body.clone(),
        )
        .await;
    assert_eq!(fresh.body, json!({"is_compatible": true}));
    registry.register_ok("s", &v1()).await;
    let no_version = registry
        .json("POST", "/compatibility/subjects/s/versions/7", body.clone())
        .await;
    assert_eq!(no_version.error_code(), 40402);
    let bad_version = registry
        .json("POST", "/compatibility/subjects/s/versions/zero", body)
        .await;
    assert_eq!(bad_version.error_code(), 42202);
    let invalid = registry
        .json(
            "POST",
            "/compatibility/subjects/s/versions/latest",
            json!({"schema": "{"}),
        )
        .await;
    assert_eq!(invalid.error_code(), 42201);
    registry.cleanup().await;
}

#[tokio::test]
async fn transitive_levels_check_every_version_on_registration() {
    let registry = TestRegistry::fresh().await;
    // v1 lacks `c`; v2 has `c` with a default; v3 requires `c`.
    let c_default = record(r#"{"name":"a","type":"int"},{"name":"c","type":"long","default":1}"#);
    let c_required = record(r#"{"name":"a","type":"int"},{"name":"c","type":"long"}"#);
    for subject in ["plain", "transitive"] {
        registry.register_ok(subject, &v1()).await;
        registry.register_ok(subject, &c_default).await;
    }
    let level = json!({"compatibility": "BACKWARD_TRANSITIVE"});
    registry.json("PUT", "/config/transitive", level).await;
    // BACKWARD only looks at v2, which has `c`.
    registry.register_ok("plain", &c_required).await;
    let refused = registry.register("transitive", &c_required).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{refused:?}");
    assert!(refused.body["message"]
        .as_str()
        .unwrap()
        .contains("version 1"));
    registry.cleanup().await;
}

#[tokio::test]
async fn forward_full_and_none_apply_on_registration() {
    let registry = TestRegistry::fresh().await;
    for (subject, level) in [("fwd", "FORWARD"), ("full", "FULL"), ("none", "NONE")] {
        registry.register_ok(subject, &with_required_b()).await;
        let body = json!({"compatibility": level});
        registry
            .json("PUT", &format!("/config/{subject}"), body)
            .await;
    }
    // Dropping required `b`: old readers need it, so FORWARD and FULL refuse; BACKWARD would not.
    assert_eq!(
        registry.register("fwd", &v1()).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        registry.register("full", &v1()).await.status,
        StatusCode::CONFLICT
    );
    registry.register_ok("none", &v1()).await;
    // Adding a field with a default passes FULL.
    let extra = record(
        r#"{"name":"a","type":"int"},{"name":"b","type":"string"},{"name":"d","type":"int","default":0}"#,
    );
    registry.register_ok("full", &extra).await;
    registry.cleanup().await;
}
