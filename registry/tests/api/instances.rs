//! Restarts, several instances on one database, and the real HTTP server.

use std::collections::BTreeSet;
use std::sync::Arc;

use healthpipe_registry::{serve, serve_listener, RegistryError};
use serde_json::json;
use warp::http::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn schemas_ids_and_levels_survive_a_restart() {
    let before = TestRegistry::fresh().await;
    let first = before.register_ok("s", &v1()).await;
    let second = before.register_ok("s", &with_optional_b()).await;
    before
        .json("PUT", "/config/s", json!({"compatibility": "FULL"}))
        .await;
    let config = before.config.clone();
    drop(before);

    let after = TestRegistry::open(config).await;
    let by_id = after.get(&format!("/schemas/ids/{first}")).await;
    assert_eq!(by_id.body, json!({"schema": v1()}));
    assert_eq!(after.get("/subjects/s/versions").await.body, json!([1, 2]));
    assert_eq!(
        after.get("/config/s").await.body,
        json!({"compatibilityLevel": "FULL"})
    );
    assert_eq!(after.register_ok("s", &v1()).await, first);
    let third = record(
        r#"{"name":"a","type":"int"},{"name":"b","type":["null","string"],"default":null},{"name":"e","type":"int","default":0}"#,
    );
    let third_id = after.register_ok("s", &third).await;
    assert_eq!(third_id, second + 1, "ids continue where they stopped");
    after.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_registering_at_once_agree_on_ids_and_versions() {
    // Both instances start together on a new schema: table creation must not race.
    let config = new_config();
    let (a, b) = tokio::join!(
        TestRegistry::open(config.clone()),
        TestRegistry::open(config.clone())
    );
    let (a, b) = (Arc::new(a), Arc::new(b));
    a.json("PUT", "/config", json!({"compatibility": "NONE"}))
        .await;

    let schema = |i: usize| record(&format!(r#"{{"name":"f{i}","type":"int"}}"#));
    let mut tasks = Vec::new();
    for i in 0..12 {
        for (instance, registry) in [("a", a.clone()), ("b", b.clone())] {
            tasks.push(tokio::spawn(async move {
                // The same schema from both instances under its own subject, plus each
                // instance's share of a busy subject.
                let own = registry.register_ok(&format!("own-{i}"), &schema(i)).await;
                let busy_schema = record(&format!(r#"{{"name":"g{i}{instance}","type":"int"}}"#));
                let busy = registry.register_ok("busy", &busy_schema).await;
                (i, own, busy)
            }));
        }
    }
    let mut own_ids = vec![Vec::new(); 12];
    let mut all_ids = BTreeSet::new();
    for task in tasks {
        let (i, own, busy) = task.await.unwrap();
        own_ids[i].push(own);
        all_ids.insert(own);
        all_ids.insert(busy);
    }
    for (i, ids) in own_ids.iter().enumerate() {
        assert_eq!(ids[0], ids[1], "schema {i} got two ids");
    }
    // 12 shared schemas + 24 busy ones, numbered densely from 1.
    assert_eq!(all_ids, (1..=36).collect::<BTreeSet<i64>>());
    let versions = a.get("/subjects/busy/versions").await.body;
    assert_eq!(versions, json!((1..=24).collect::<Vec<i32>>()));
    for i in 0..12 {
        let own = b.get(&format!("/subjects/own-{i}/versions")).await.body;
        assert_eq!(own, json!([1]), "own-{i}");
    }
    drop(b);
    Arc::into_inner(a).unwrap().cleanup().await;
}

#[tokio::test]
async fn the_server_answers_over_http_until_shut_down() {
    let registry = TestRegistry::fresh().await;
    registry.register_ok("s", &v1()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_listener(listener, registry.store.clone(), async {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::new();
    let subjects = client
        .get(format!("http://{addr}/subjects"))
        .send()
        .await
        .unwrap();
    assert_eq!(subjects.status(), StatusCode::OK.as_u16());
    assert_eq!(
        subjects.headers()["content-type"],
        "application/vnd.schemaregistry.v1+json"
    );
    assert_eq!(
        subjects.json::<serde_json::Value>().await.unwrap(),
        json!(["s"])
    );
    let registered = client
        .post(format!("http://{addr}/subjects/s/versions"))
        .header("content-type", CT_V1)
        .body(json!({"schema": v1()}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        registered.json::<serde_json::Value>().await.unwrap(),
        json!({"id": 1})
    );

    stop.send(()).unwrap();
    server.await.unwrap().expect("clean shutdown");
    registry.cleanup().await;
}

#[tokio::test]
async fn serve_creates_its_tables_and_reports_a_taken_port() {
    let mut config = new_config();
    config.addr = "127.0.0.1:0".parse().unwrap();
    serve(config.clone(), async {})
        .await
        .expect("starts and stops");
    let registry = TestRegistry::open(config.clone()).await;
    assert_eq!(registry.get("/subjects").await.body, json!([]));

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    config.addr = taken.local_addr().unwrap();
    let error = serve(config, async {}).await.unwrap_err();
    assert!(matches!(error, RegistryError::Bind { .. }), "{error}");
    registry.cleanup().await;
}
