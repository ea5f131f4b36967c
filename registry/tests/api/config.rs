//! `/config` and `/config/{s}`.

use serde_json::json;
use warp::http::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn the_global_level_defaults_to_backward_and_can_be_changed() {
    let registry = TestRegistry::fresh().await;
    let initial = registry.get("/config").await;
    assert_eq!(initial.body, json!({"compatibilityLevel": "BACKWARD"}));
    let set = registry
        .json("PUT", "/config", json!({"compatibility": "FULL"}))
        .await;
    assert_eq!(
        (set.status, set.body),
        (StatusCode::OK, json!({"compatibility": "FULL"}))
    );
    assert_eq!(
        registry.get("/config").await.body,
        json!({"compatibilityLevel": "FULL"})
    );
    let lower = registry
        .json("PUT", "/config", json!({"compatibility": "none"}))
        .await;
    assert_eq!(lower.body, json!({"compatibility": "NONE"}));
    let bad = registry
        .json("PUT", "/config", json!({"compatibility": "SOMETIMES"}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.error_code(), 42203);
    // With NONE globally, an incompatible change goes through.
    registry.register_ok("s", &v1()).await;
    registry.register_ok("s", &with_required_b()).await;
    registry.cleanup().await;
}

#[tokio::test]
async fn subject_levels_override_the_global_one() {
    let registry = TestRegistry::fresh().await;
    let unset = registry.get("/config/s").await;
    assert_eq!(unset.status, StatusCode::NOT_FOUND);
    assert_eq!(unset.error_code(), 40408);
    assert!(unset.body["message"]
        .as_str()
        .unwrap()
        .contains("does not have subject-level"));
    let fallback = registry.get("/config/s?defaultToGlobal=true").await;
    assert_eq!(fallback.body, json!({"compatibilityLevel": "BACKWARD"}));

    let set = registry
        .json("PUT", "/config/s", json!({"compatibility": "NONE"}))
        .await;
    assert_eq!(set.body, json!({"compatibility": "NONE"}));
    assert_eq!(
        registry.get("/config/s").await.body,
        json!({"compatibilityLevel": "NONE"})
    );
    assert_eq!(
        registry.get("/config").await.body,
        json!({"compatibilityLevel": "BACKWARD"})
    );
    let bad = registry
        .json("PUT", "/config/s", json!({"compatibility": "MOSTLY"}))
        .await;
    assert_eq!(bad.error_code(), 42203);

    // `s` accepts the incompatible change, `t` (global BACKWARD) does not.
    for subject in ["s", "t"] {
        registry.register_ok(subject, &v1()).await;
    }
    registry.register_ok("s", &with_required_b()).await;
    assert_eq!(
        registry.register("t", &with_required_b()).await.status,
        StatusCode::CONFLICT
    );
    registry.cleanup().await;
}
