//! `GET` endpoints: schemas by id, subjects and versions.

use serde_json::json;
use warp::http::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn an_empty_registry_answers_its_root_and_lists() {
    let registry = TestRegistry::fresh().await;
    let root = registry.get("/").await;
    assert_eq!((root.status, root.body), (StatusCode::OK, json!({})));
    let subjects = registry.get("/subjects").await;
    assert_eq!(
        (subjects.status, subjects.body),
        (StatusCode::OK, json!([]))
    );
    assert_eq!(
        subjects.content_type,
        "application/vnd.schemaregistry.v1+json"
    );
    assert_eq!(registry.get("/schemas/types").await.body, json!(["AVRO"]));
    registry.cleanup().await;
}

#[tokio::test]
async fn a_schema_reads_back_by_id_and_by_version() {
    let registry = TestRegistry::fresh().await;
    let id = registry.register_ok("s", &v1()).await;
    let by_id = registry.get(&format!("/schemas/ids/{id}")).await;
    assert_eq!(by_id.status, StatusCode::OK);
    assert_eq!(
        by_id.body,
        json!({"schema": v1()}),
        "schemaType omitted for AVRO"
    );
    assert_eq!(by_id.content_type, CT_V1);
    // Query parameters newer clients add are ignored.
    let with_query = format!("/schemas/ids/{id}?subject=s&fetchMaxId=false&deleted=true&format=");
    assert_eq!(
        registry.get(&with_query).await.body,
        json!({"schema": v1()})
    );
    let raw = registry.get(&format!("/schemas/ids/{id}/schema")).await;
    assert_eq!(
        raw.body,
        serde_json::from_str::<serde_json::Value>(&v1()).unwrap()
    );

    let second = registry.register_ok("s", &with_optional_b()).await;
    let expected_v2 =
        json!({"subject": "s", "version": 2, "id": second, "schema": with_optional_b()});
    for spec in ["2", "latest", "-1"] {
        let answer = registry.get(&format!("/subjects/s/versions/{spec}")).await;
        assert_eq!(answer.body, expected_v2, "{spec}");
    }
    let v1_answer = registry.get("/subjects/s/versions/1?deleted=true").await;
    assert_eq!(v1_answer.body["id"], id);
    let raw_v1 = registry.get("/subjects/s/versions/1/schema").await;
    assert_eq!(
        raw_v1.body,
        serde_json::from_str::<serde_json::Value>(&v1()).unwrap()
    );
    assert_eq!(
        registry.get("/subjects?deleted=false").await.body,
        json!(["s"])
    );
    assert_eq!(
        registry.get("/subjects/s/versions").await.body,
        json!([1, 2])
    );
    registry.cleanup().await;
}
