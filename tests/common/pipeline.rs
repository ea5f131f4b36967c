//! A whole healthpipe on the real stack for one test: a scratch database with the
//! migrations applied, topics under a random prefix, the gateway on a random port and as
//! many aggregation processors as the test starts. Dropping it stops the services.

use std::time::Duration;

use healthpipe_schemas::Topics;
use serde_json::{json, Value};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::stack;

pub struct Pipeline {
    /// `http://127.0.0.1:<port>` of this test's gateway.
    pub base_url: String,
    /// This test's own database.
    pub database_url: String,
    pub kafka_brokers: String,
    pub registry_url: String,
    pub topic_prefix: String,
    pub topics: Topics,
    pub http: reqwest::Client,
    shutdown: CancellationToken,
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A random lowercase name with `prefix`, for databases, topics and groups.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// Creates an empty database (TimescaleDB comes with the template) and returns its URL.
pub async fn scratch_database() -> String {
    let base = &stack().database_url;
    let (client, connection) = tokio_postgres::connect(
        base,
        healthpipe_storage::pool::tls().expect("TLS connector"),
    )
    .await
    .expect("connect to the stack's PostgreSQL");
    tokio::spawn(connection);
    let name = unique("hp_test");
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create scratch database");
    let (prefix, _) = base.rsplit_once('/').expect("database url has a path");
    format!("{prefix}/{name}")
}

/// A scratch database with the migrations applied and a pool of `size` connections to it,
/// for a test of the storage layer on its own.
pub async fn migrated_scratch_pool(size: usize) -> healthpipe_storage::Pool {
    let url = scratch_database().await;
    healthpipe_storage::migrations::run(&url)
        .await
        .expect("migrations");
    healthpipe_storage::connect(&url, size).expect("pool")
}

impl Pipeline {
    /// Database, topics, gateway; no processor yet (see `start_processor`).
    pub async fn without_processor() -> Pipeline {
        let mut pipeline = Self::without_services(&stack().kafka_brokers).await;
        pipeline.base_url = pipeline.start_gateway().await;
        pipeline
    }

    /// Database and topics (on `kafka_brokers`), no gateway (`base_url` is empty) and no
    /// processor: for a test that runs the services its own way.
    pub async fn without_services(kafka_brokers: &str) -> Pipeline {
        let database_url = scratch_database().await;
        healthpipe_storage::migrations::run(&database_url)
            .await
            .expect("migrations apply");
        let topic_prefix = unique("hp");
        let topics = Topics::with_prefix(&topic_prefix);
        // As `migrate` makes them by default: TOPIC_PARTITIONS partitions, one replica.
        healthpipe::topics::ensure(kafka_brokers, &topics, &Default::default())
            .await
            .expect("topics created");
        Pipeline {
            base_url: String::new(),
            database_url,
            kafka_brokers: kafka_brokers.to_string(),
            registry_url: stack().registry_url.clone(),
            topic_prefix,
            topics,
            http: reqwest::Client::new(),
            shutdown: CancellationToken::new(),
        }
    }

    /// A pipeline on a database and topics that exist already (made by `healthpipe migrate`,
    /// as a deployment makes them), with the registry at `registry_url`: nothing is created
    /// and no service started.
    pub fn existing(
        database_url: &str,
        kafka_brokers: &str,
        registry_url: &str,
        topic_prefix: &str,
    ) -> Pipeline {
        Pipeline {
            base_url: String::new(),
            database_url: database_url.to_string(),
            kafka_brokers: kafka_brokers.to_string(),
            registry_url: registry_url.to_string(),
            topic_prefix: topic_prefix.to_string(),
            topics: Topics::with_prefix(topic_prefix),
            http: reqwest::Client::new(),
            shutdown: CancellationToken::new(),
        }
    }

    /// Database, topics, gateway and one aggregation processor.
    pub async fn start() -> Pipeline {
        let pipeline = Self::without_processor().await;
        pipeline.start_processor();
        pipeline
    }

    /// The event-log settings of the operator commands (`topic read`, `topic reencrypt`).
    pub fn event_log_settings(&self) -> healthpipe_config::EventLogSettings {
        healthpipe_config::EventLogSettings {
            kafka_brokers: self.kafka_brokers.clone(),
            registry_url: self.registry_url.clone(),
            topic_prefix: self.topic_prefix.clone(),
            user_events_topic: None,
            kafka_stall_timeout_secs: 30,
            kafka_security: Default::default(),
        }
    }

    pub fn gateway_config(&self) -> healthpipe_gateway::GatewayConfig {
        healthpipe_gateway::GatewayConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            database_url: self.database_url.clone(),
            db_pool_size: 8,
            kafka_brokers: self.kafka_brokers.clone(),
            registry_url: self.registry_url.clone(),
            topics: self.topics.clone(),
            kafka_stall_timeout: Duration::from_secs(30),
            produce_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            session_ttl: chrono::Duration::hours(1),
            password_hashes: 2,
            trusted_proxies: Vec::new(),
            keys: self.key_settings(),
            kafka_security: Default::default(),
            projection_group: format!("{}-aggregation", self.topic_prefix),
            projection_wait: Duration::from_secs(10),
            public_url: String::new(),
            imports: Default::default(),
        }
    }

    /// The gateway's settings with brokers that do not answer (a closed loopback port) and a
    /// produce timeout of 1 s: appends time out fast, everything else works.
    pub fn gateway_config_without_kafka(&self) -> healthpipe_gateway::GatewayConfig {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap();
        drop(closed);
        healthpipe_gateway::GatewayConfig {
            kafka_brokers: port.to_string(),
            produce_timeout: Duration::from_secs(1),
            ..self.gateway_config()
        }
    }

    async fn start_gateway(&self) -> String {
        self.start_gateway_with(self.gateway_config()).await
    }

    /// Starts one more gateway (a replica, or one set up differently) on the pipeline's
    /// database and topics; returns its base URL.
    pub async fn start_gateway_with(&self, config: healthpipe_gateway::GatewayConfig) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Links name the test gateway, unless the test set a public address.
        let config = match config.public_url.is_empty() {
            true => healthpipe_gateway::GatewayConfig {
                public_url: format!("http://{addr}"),
                ..config
            },
            false => config,
        };
        let state = healthpipe_gateway::AppState::connect(config)
            .await
            .expect("gateway state");
        let shutdown = self.shutdown.clone();
        tokio::spawn(healthpipe_gateway::serve_listener(
            listener,
            std::sync::Arc::new(state),
            shutdown.cancelled_owned(),
        ));
        format!("http://{addr}")
    }

    pub fn processor_config(&self) -> healthpipe_processors::ProcessorConfig {
        healthpipe_processors::ProcessorConfig {
            database_url: self.database_url.clone(),
            kafka_brokers: self.kafka_brokers.clone(),
            registry_url: self.registry_url.clone(),
            topics: self.topics.clone(),
            kafka_stall_timeout: Duration::from_secs(30),
            group_id: format!("{}-aggregation", self.topic_prefix),
            batch_max_messages: 500,
            batch_max_wait: Duration::from_millis(50),
            batch_lanes: 3,
            metrics_addr: None,
            tick_interval: None,
            announce_changes: true,
            keys: self.key_settings(),
            key_store_url: None,
            retention_day: None,
            kafka_security: Default::default(),
        }
    }

    /// The local stack's key-encryption key (`KEY_ENCRYPTION_KEYS_FILE` in `.stack/env`).
    pub fn key_settings(&self) -> healthpipe_config::KeySettings {
        let file = crate::common::stack::stack()
            .vars
            .get("KEY_ENCRYPTION_KEYS_FILE")
            .cloned()
            .expect("KEY_ENCRYPTION_KEYS_FILE missing from .stack/env: run scripts/stack up");
        healthpipe_config::KeySettings {
            key_encryption_keys_file: Some(file.into()),
            key_encryption_keys: None,
        }
    }

    /// Starts one more aggregation processor in the test's consumer group.
    pub fn start_processor(&self) -> JoinHandle<()> {
        let config = self.processor_config();
        let token = self.shutdown.child_token();
        tokio::spawn(async move {
            healthpipe_processors::run_aggregation(config, token)
                .await
                .expect("aggregation processor failed");
        })
    }

    /// The insights processor's settings: its own group; no ticker (tests send their ticks,
    /// timed as they need).
    pub fn insights_config(&self) -> healthpipe_processors::ProcessorConfig {
        healthpipe_processors::ProcessorConfig {
            group_id: format!("{}-insights", self.topic_prefix),
            ..self.processor_config()
        }
    }

    /// Starts an insights processor in the test's insights group.
    pub fn start_insights_processor(&self) -> JoinHandle<()> {
        let config = self.insights_config();
        let token = self.shutdown.child_token();
        tokio::spawn(async move {
            healthpipe_processors::run_insights(config, token)
                .await
                .expect("insights processor failed");
        })
    }

    /// The user's data key in the test's key store, created if missing (as the gateway does
    /// for an account it seals an event of).
    pub async fn data_key(&self, user: uuid::Uuid) -> healthpipe_crypto::DataKey {
        let spec = self.key_settings().spec().expect("key-encryption keys");
        let provider = healthpipe_crypto::LocalKeyProvider::parse(&spec).expect("a valid KEK");
        let db = healthpipe_storage::connect(&self.database_url, 1).expect("pool");
        let client = db.get().await.expect("database");
        healthpipe_storage::accounts::keys::get_or_create(&client, &provider, user)
            .await
            .expect("the user's data key")
    }

    /// The data keys of `users` (ids as text), for reading their sealed events.
    pub async fn keyring(&self, users: &[&str]) -> healthpipe_crypto::Keyring {
        let mut ring = healthpipe_crypto::Keyring::default();
        for user in users {
            let key = self.data_key(user.parse().expect("a user id")).await;
            ring.insert(user.to_string(), Some(key));
        }
        ring
    }

    /// Appends `event` to `topic` under `key` with the create time `at`, as a producer of the
    /// log would (crafted histories: an import, a late upload, a tick).
    pub async fn append<E: healthpipe_schemas::Event>(
        &self,
        topic: &str,
        key: &str,
        event: &E,
        at: chrono::DateTime<chrono::Utc>,
    ) {
        let codec = healthpipe_schemas::EventCodec::new(&self.registry_url);
        // Sealed with the key of the user the message key names (the event may name another,
        // as a broken producer's would).
        let user: uuid::Uuid = key.parse().expect("the message key is a user id");
        let data_key = self.data_key(user).await;
        let payload = codec
            .encode(topic, event, &data_key)
            .await
            .expect("event encodes");
        self.append_payload(topic, key, &payload, at).await;
    }

    /// Appends `event` in clear, as a producer from before encryption wrote it.
    pub async fn append_in_clear<E: healthpipe_schemas::Event>(
        &self,
        topic: &str,
        event: &E,
        at: chrono::DateTime<chrono::Utc>,
    ) {
        let codec = healthpipe_schemas::EventCodec::new(&self.registry_url);
        let payload = codec
            .encode_in_clear(topic, event)
            .await
            .expect("event encodes");
        self.append_payload(topic, event.user_id(), &payload, at)
            .await;
    }

    /// Appends `events` to `topic` in their order, each keyed by its user and sealed with
    /// that user's key (made if missing, as the gateway does), through one idempotent
    /// producer: a large log fast, for tests that need a backlog. Returns once Kafka
    /// acknowledged every one.
    pub async fn append_all<E: healthpipe_schemas::Event>(
        &self,
        topic: &str,
        events: &[E],
        at: chrono::DateTime<chrono::Utc>,
    ) {
        use rdkafka::producer::{FutureProducer, FutureRecord};
        let codec = healthpipe_schemas::EventCodec::new(&self.registry_url);
        let mut keys: std::collections::HashMap<String, healthpipe_crypto::DataKey> =
            Default::default();
        let mut payloads = Vec::with_capacity(events.len());
        for event in events {
            let user = event.user_id().to_string();
            if !keys.contains_key(&user) {
                let key = self.data_key(user.parse().expect("a user id")).await;
                keys.insert(user.clone(), key);
            }
            let payload = codec
                .encode(topic, event, &keys[&user])
                .await
                .expect("event encodes");
            payloads.push((user, payload));
        }
        let producer: FutureProducer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &self.kafka_brokers)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", "5")
            .create()
            .expect("producer");
        let mut deliveries = Vec::with_capacity(payloads.len());
        for (user, payload) in &payloads {
            let record = FutureRecord::to(topic)
                .key(user)
                .payload(payload)
                .timestamp(at.timestamp_millis());
            deliveries.push(
                producer
                    .send_result(record)
                    .map_err(|(e, _)| e)
                    .expect("the producer queues the append"),
            );
        }
        for delivery in deliveries {
            delivery
                .await
                .expect("the producer is alive")
                .map_err(|(e, _)| e)
                .expect("kafka acknowledges the append");
        }
    }

    async fn append_payload(
        &self,
        topic: &str,
        key: &str,
        payload: &[u8],
        at: chrono::DateTime<chrono::Utc>,
    ) {
        use rdkafka::producer::{FutureProducer, FutureRecord};
        let producer: FutureProducer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &self.kafka_brokers)
            .set("acks", "all")
            .create()
            .expect("producer");
        producer
            .send(
                FutureRecord::to(topic)
                    .key(key)
                    .payload(payload)
                    .timestamp(at.timestamp_millis()),
                Duration::from_secs(10),
            )
            .await
            .expect("kafka acknowledges the append");
    }

    /// Waits until the aggregation processor applied the whole user-event topic and then the
    /// insights processor the whole aggregates-updated topic (the aggregation processor
    /// publishes its announcements before committing, so the second wait sees them all).
    pub async fn settle(&self) {
        let timeout = Duration::from_secs(60);
        self.settle_aggregation().await;
        healthpipe::progress::wait_until_caught_up(
            &self.database_url,
            &self.kafka_brokers,
            &self.topics.aggregates_updated,
            &self.insights_config().group_id,
            timeout,
        )
        .await
        .expect("insights processor catches up");
    }

    /// Waits until the aggregation processor applied the whole user-event topic.
    pub async fn settle_aggregation(&self) {
        healthpipe::progress::wait_until_caught_up(
            &self.database_url,
            &self.kafka_brokers,
            &self.topics.user_events,
            &self.processor_config().group_id,
            Duration::from_secs(60),
        )
        .await
        .expect("aggregation processor catches up");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Signs up a new user and returns a session.
    pub async fn new_user(&self, timezone: &str) -> Session {
        let email = format!("{}@example.org", unique("user"));
        let password = "correct horse battery".to_string();
        let response = self
            .http
            .post(self.url("/api/v1/users"))
            .json(&json!({"email": email, "password": password, "name": "Test User", "timezone": timezone}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            201,
            "sign-up: {}",
            response.text().await.unwrap()
        );
        let user: Value = response.json().await.unwrap();
        let user_id = user["id"].as_str().unwrap().to_string();
        self.sign_in(user_id, &email, &password).await
    }

    /// Signs `user_id` in with its email and password.
    pub async fn sign_in(&self, user_id: String, email: &str, password: &str) -> Session {
        let response = self
            .http
            .post(self.url("/api/v1/sessions"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "sign-in");
        let session: Value = response.json().await.unwrap();
        Session {
            user_id,
            email: email.to_owned(),
            token: session["token"].as_str().unwrap().to_string(),
            base_url: self.base_url.clone(),
            http: self.http.clone(),
        }
    }

    /// A provider account made as an operator makes it (`healthpipe providers add`), signed
    /// in, and its email.
    pub async fn new_provider(&self, organisation: &str) -> (Session, String) {
        let email = format!("{}@clinic.example.org", unique("dr"));
        let db = healthpipe_storage::connect(&self.database_url, 1).expect("pool");
        let added = healthpipe_gateway::providers::add(
            &db,
            &healthpipe_gateway::providers::NewProvider {
                email: email.clone(),
                name: "Dr Test".into(),
                organisation: organisation.into(),
            },
        )
        .await
        .expect("the provider is added");
        let password = added.password.expect("a new account has a password");
        let session = self.sign_in(added.id.to_string(), &email, &password).await;
        (session, email)
    }

    /// Polls the database until `query` returns `expected` (as text), or fails after 30 s.
    pub async fn wait_for_sql(&self, query: &str, expected: &str) {
        let (client, connection) = tokio_postgres::connect(
            &self.database_url,
            healthpipe_storage::pool::tls().expect("TLS connector"),
        )
        .await
        .unwrap();
        tokio::spawn(connection);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let mut last = String::new();
        while tokio::time::Instant::now() < deadline {
            let rows = client.simple_query(query).await.unwrap();
            last = rows
                .iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join(",");
            if last == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("`{query}` returned {last:?}, expected {expected:?} within 30 s");
    }
}

/// A signed-in user of the test gateway.
#[derive(Clone)]
pub struct Session {
    pub user_id: String,
    pub email: String,
    pub token: String,
    pub base_url: String,
    pub http: reqwest::Client,
}

impl Session {
    pub async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base_url))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base_url))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.http
            .delete(format!("{}{path}", self.base_url))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }

    /// `DELETE /api/v1/me` with the account's password: erases the user (202 when taken).
    pub async fn erase(&self, password: &str) -> reqwest::Response {
        self.http
            .delete(format!("{}/api/v1/me", self.base_url))
            .bearer_auth(&self.token)
            .json(&json!({ "password": password }))
            .send()
            .await
            .unwrap()
    }

    /// Registers a device and returns its id.
    pub async fn device(&self, device_type: &str, identifier: &str) -> String {
        let response = self
            .post(
                "/api/v1/devices",
                json!({"device_type": device_type, "device_name": identifier, "device_identifier": identifier}),
            )
            .await;
        assert!(
            response.status().is_success(),
            "device registration: {}",
            response.status()
        );
        let body: Value = response.json().await.unwrap();
        body["id"].as_str().unwrap().to_string()
    }
}
