//! `POST /subjects/{s}/versions` and `POST /subjects/{s}`.

use serde_json::json;
use warp::http::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn the_same_schema_twice_gets_the_same_id_and_one_version() {
    let registry = TestRegistry::fresh().await;
    let first = registry.register_ok("s", &v1()).await;
    let again = registry.register_ok("s", &v1()).await;
    assert_eq!(first, again);
    // Whitespace and key order do not make a new schema.
    let spaced = r#"{ "namespace": "t", "name": "Sample", "type": "record",
        "fields": [ { "type": "int", "name": "a" } ] }"#;
    assert_eq!(registry.register_ok("s", spaced).await, first);
    assert_eq!(registry.get("/subjects/s/versions").await.body, json!([1]));
    registry.cleanup().await;
}

#[tokio::test]
async fn the_same_schema_under_another_subject_reuses_the_global_id() {
    let registry = TestRegistry::fresh().await;
    let a = registry.register_ok("a-value", &v1()).await;
    let other = registry.register_ok("a-value", &with_optional_b()).await;
    let b = registry.register_ok("b-value", &v1()).await;
    assert_eq!(a, b);
    assert_ne!(a, other);
    let refs = registry.get(&format!("/schemas/ids/{a}/versions")).await;
    assert_eq!(
        refs.body,
        json!([{"subject": "a-value", "version": 1}, {"subject": "b-value", "version": 1}])
    );
    registry.cleanup().await;
}

#[tokio::test]
async fn an_incompatible_schema_is_409_and_a_compatible_one_a_new_version() {
    let registry = TestRegistry::fresh().await;
    let first = registry.register_ok("s", &v1()).await;
    let refused = registry.register("s", &with_required_b()).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{refused:?}");
    assert_eq!(refused.error_code(), 409);
    let message = refused.body["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "Schema being registered is incompatible with an earlier schema for subject \"s\""
        ),
        "{message}"
    );
    assert!(
        message.contains("'b'"),
        "the reason names the field: {message}"
    );
    let second = registry.register_ok("s", &with_optional_b()).await;
    assert_ne!(first, second);
    assert_eq!(
        registry.get("/subjects/s/versions").await.body,
        json!([1, 2])
    );
    // Re-registering the older version returns its id without a compatibility check.
    assert_eq!(registry.register_ok("s", &v1()).await, first);
    registry.cleanup().await;
}

#[tokio::test]
async fn invalid_or_unsupported_schemas_are_422() {
    let registry = TestRegistry::fresh().await;
    for bad in [
        "not json",
        "{\"type\":\"record\",\"name\":\"S\"}",
        "\"nosuchtype\"",
        "",
    ] {
        let answer = registry.register("s", bad).await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad:?}: {answer:?}"
        );
        assert_eq!(answer.error_code(), 42201, "{bad:?}");
    }
    let proto = json!({"schema": "syntax = \"proto3\";", "schemaType": "PROTOBUF"});
    let answer = registry.json("POST", "/subjects/s/versions", proto).await;
    assert_eq!(answer.error_code(), 42201);
    assert!(answer.body["message"]
        .as_str()
        .unwrap()
        .contains("only AVRO"));
    let with_refs =
        json!({"schema": v1(), "references": [{"name": "x", "subject": "y", "version": 1}]});
    let answer = registry
        .json("POST", "/subjects/s/versions", with_refs)
        .await;
    assert_eq!(answer.error_code(), 42201);
    // Explicit AVRO and an empty reference list are fine; unknown fields are ignored.
    let explicit =
        json!({"schema": v1(), "schemaType": "AVRO", "references": [], "metadata": null});
    let answer = registry
        .json("POST", "/subjects/s/versions", explicit)
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(registry.get("/subjects").await.body, json!(["s"]));
    registry.cleanup().await;
}

#[tokio::test]
async fn lookup_finds_registered_schemas_and_tells_missing_subject_from_missing_schema() {
    let registry = TestRegistry::fresh().await;
    let id = registry.register_ok("s", &v1()).await;
    let found = registry
        .json("POST", "/subjects/s", json!({"schema": v1()}))
        .await;
    assert_eq!(found.status, StatusCode::OK, "{found:?}");
    assert_eq!(
        found.body,
        json!({"subject": "s", "id": id, "version": 1, "schema": v1()})
    );
    let other = json!({"schema": with_optional_b()});
    let missing_schema = registry.json("POST", "/subjects/s", other.clone()).await;
    assert_eq!(missing_schema.status, StatusCode::NOT_FOUND);
    assert_eq!(missing_schema.error_code(), 40403);
    let missing_subject = registry.json("POST", "/subjects/nobody", other).await;
    assert_eq!(missing_subject.status, StatusCode::NOT_FOUND);
    assert_eq!(missing_subject.error_code(), 40401);
    let invalid = registry
        .json("POST", "/subjects/s", json!({"schema": "{"}))
        .await;
    assert_eq!(invalid.error_code(), 42201);
    registry.cleanup().await;
}

#[tokio::test]
async fn subjects_are_percent_decoded() {
    let registry = TestRegistry::fresh().await;
    let topic_subject = "healthpipe.user-events-healthpipe.events.SamplesRecorded";
    let id = registry.register_ok(topic_subject, &v1()).await;
    let encoded = "with%2Fslash%20and%20space";
    assert_eq!(registry.register_ok(encoded, &v1()).await, id);
    let subjects = registry.get("/subjects").await.body;
    assert_eq!(subjects, json!([topic_subject, "with/slash and space"]));
    let version = registry
        .get(&format!("/subjects/{encoded}/versions/latest"))
        .await;
    assert_eq!(version.body["subject"], "with/slash and space");
    registry.cleanup().await;
}

#[tokio::test]
async fn client_query_parameters_and_newer_fields_are_ignored() {
    let registry = TestRegistry::fresh().await;
    // As the Java serializer and schema_registry_converter send them.
    let body = json!({
        "schema": v1(),
        "schemaType": "AVRO",
        "metadata": {"properties": {"owner": "health"}},
        "ruleSet": null,
    });
    let registered = registry
        .json("POST", "/subjects/s/versions?normalize=false", body.clone())
        .await;
    assert_eq!(registered.status, StatusCode::OK, "{registered:?}");
    let id = registered.body["id"].as_i64().unwrap();
    let found = registry
        .json("POST", "/subjects/s?normalize=false&deleted=false", body)
        .await;
    assert_eq!(found.body["id"], id);
    assert_eq!(found.body["version"], 1);
    registry.cleanup().await;
}
