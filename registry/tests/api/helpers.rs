//! A registry on a fresh PostgreSQL schema per test, driven through `warp::test::request()`.

use healthpipe_registry::{routes, PgSchema, RegistryConfig, Store};
use rand::Rng;
use serde_json::{json, Value};
use warp::http::StatusCode;

use crate::common;

/// Confluent's request content type, as the Java and Rust clients send it.
pub const CT_V1: &str = "application/vnd.schemaregistry.v1+json";

/// A record schema named `t.Sample` with the given fields (a JSON array's inner text).
pub fn record(fields: &str) -> String {
    format!(r#"{{"type":"record","name":"Sample","namespace":"t","fields":[{fields}]}}"#)
}

pub fn v1() -> String {
    record(r#"{"name":"a","type":"int"}"#)
}

pub fn with_optional_b() -> String {
    record(r#"{"name":"a","type":"int"},{"name":"b","type":["null","string"],"default":null}"#)
}

pub fn with_required_b() -> String {
    record(r#"{"name":"a","type":"int"},{"name":"b","type":"string"}"#)
}

/// A response: status, `content-type` and the body parsed as JSON.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
}

impl Answer {
    /// Asserts Confluent's error shape and returns the error code.
    pub fn error_code(&self) -> i64 {
        assert!(
            self.body["message"].is_string(),
            "no message in {:?}",
            self.body
        );
        self.body["error_code"]
            .as_i64()
            .unwrap_or_else(|| panic!("not an error: {self:?}"))
    }
}

/// One registry instance (its own pool) on a test's PostgreSQL schema.
pub struct TestRegistry {
    pub store: Store,
    pub config: RegistryConfig,
}

impl TestRegistry {
    /// A registry on a brand-new random schema: tests never see each other's subjects.
    pub async fn fresh() -> Self {
        Self::open(new_config()).await
    }

    /// An instance (own pool, empty cache) on the schema `config` names, creating its tables
    /// if needed; opening the same config again is a restart or a second replica.
    pub async fn open(config: RegistryConfig) -> Self {
        let store = Store::connect(&config)
            .await
            .expect("registry storage opens");
        Self { store, config }
    }

    /// Sends a request; `body` is sent verbatim with Confluent's content type.
    pub async fn send(&self, method: &str, path: &str, body: Option<&str>) -> Answer {
        let mut request = warp::test::request().method(method).path(path);
        if let Some(body) = body {
            request = request.header("content-type", CT_V1).body(body);
        }
        answer(request.reply(&routes(self.store.clone())).await)
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send("GET", path, None).await
    }

    /// POST or PUT of a JSON value.
    pub async fn json(&self, method: &str, path: &str, body: Value) -> Answer {
        self.send(method, path, Some(&body.to_string())).await
    }

    /// Registers `schema` under `subject`, returning the whole answer.
    pub async fn register(&self, subject: &str, schema: &str) -> Answer {
        let path = format!("/subjects/{subject}/versions");
        self.json("POST", &path, json!({ "schema": schema })).await
    }

    /// Registers and insists on success; returns the id.
    pub async fn register_ok(&self, subject: &str, schema: &str) -> i64 {
        let answer = self.register(subject, schema).await;
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
        answer.body["id"].as_i64().expect("id")
    }

    /// Drops the test's PostgreSQL schema. Not run when a test fails, which leaves the data
    /// to look at; the `reg_test_` prefix makes leftovers easy to find.
    pub async fn cleanup(self) {
        let (client, connection) = tokio_postgres::connect(
            &database_url(),
            healthpipe_storage::pool::tls().expect("TLS connector"),
        )
        .await
        .expect("connect for cleanup");
        tokio::spawn(connection);
        let drop = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.config.pg_schema);
        client.batch_execute(&drop).await.expect("drop test schema");
    }
}

pub fn answer(response: warp::http::Response<bytes::Bytes>) -> Answer {
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = serde_json::from_slice(response.body()).unwrap_or_else(|e| {
        panic!(
            "body is not JSON ({e}): {:?}",
            String::from_utf8_lossy(response.body())
        )
    });
    Answer {
        status: response.status(),
        content_type,
        body,
    }
}

/// A configuration for the stack's database and a new random PostgreSQL schema.
pub fn new_config() -> RegistryConfig {
    let suffix: u64 = rand::rng().random();
    let mut config = RegistryConfig::new(&database_url()).expect("DATABASE_URL from the stack");
    config.pg_schema = PgSchema::parse(&format!("reg_test_{suffix:016x}")).unwrap();
    config
}

/// The stack's PostgreSQL.
pub fn database_url() -> String {
    common::stack().database_url.clone()
}
