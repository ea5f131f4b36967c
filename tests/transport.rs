//! Health data does not cross a network in clear: every pooled connection to PostgreSQL is
//! TLS unless its URL says `sslmode=disable` (which the local stack's server refuses), and
//! with `PGSSLROOTCERT` set the server's certificate is verified: a server that shows
//! another certificate is refused. The gateway and the processors reach Kafka over TLS when
//! told to (`KAFKA_SECURITY_PROTOCOL=ssl`), through the local stack's TLS listener, and log
//! in where the broker asks for SASL (`sasl_ssl`, `PLAIN`), through its TLS + SASL listener.
//!
//! Neither test changes the process's environment (tests run in parallel, and the Kafka
//! test's gateway reads `PGSSLROOTCERT`): the PostgreSQL test names its trusted certificate
//! through `pool::tls_trusting`, which is what `PGSSLROOTCERT` feeds.

mod common;

/// Whether the pool's connection is encrypted, as the server sees it.
async fn encrypted(pool: &healthpipe_storage::Pool) -> Result<bool, String> {
    let client = pool.get().await.map_err(|e| format!("{e:?}"))?;
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_to_postgresql_are_encrypted_and_the_server_is_verified() {
    let stack = common::stack();
    let base = stack.database_url.split('?').next().unwrap().to_string();
    let cert = std::path::PathBuf::from(
        stack
            .vars
            .get("PGSSLROOTCERT")
            .expect("the local stack exports PGSSLROOTCERT"),
    );
    let trusting = |root: &std::path::Path, url: &str| {
        let tls = healthpipe_storage::pool::tls_trusting(Some(root)).unwrap();
        healthpipe_storage::pool::connect_with(url, 1, tls).unwrap()
    };

    // No sslmode in the URL: TLS all the same (the services' default is `require`).
    assert_eq!(encrypted(&trusting(&cert, &base)).await, Ok(true));
    // The stack's own URL says so explicitly.
    assert_eq!(
        encrypted(&trusting(&cert, &stack.database_url)).await,
        Ok(true)
    );

    // In clear, the server refuses.
    let refused = encrypted(&trusting(&cert, &format!("{base}?sslmode=disable")))
        .await
        .unwrap_err();
    assert!(refused.contains("no encryption"), "{refused}");

    // A server whose certificate is not the one trusted: refused before any password is sent.
    let other = std::env::temp_dir().join(common::unique("other-ca"));
    let made = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(other.with_extension("key"))
        .arg("-out")
        .arg(other.with_extension("crt"))
        .output()
        .expect("openssl runs");
    assert!(made.status.success(), "{made:?}");
    let refused = encrypted(&trusting(&other.with_extension("crt"), &base))
        .await
        .unwrap_err();
    assert!(
        refused.to_lowercase().contains("certificate"),
        "another server certificate was accepted: {refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_gateway_and_the_processor_reach_kafka_over_tls() {
    let stack = common::stack();
    let security = healthpipe_config::KafkaSecurity {
        kafka_security_protocol: "ssl".into(),
        kafka_ssl_ca_location: Some(stack_var(stack, "STACK_KAFKA_TLS_CA")),
        ..Default::default()
    };
    let brokers = stack_var(stack, "STACK_KAFKA_TLS_BROKERS");
    through_the_listener(stack, &brokers, security).await;
    // The listener really is TLS: a plain client gets nowhere on it.
    let plain = healthpipe_config::KafkaSecurity::default();
    assert!(
        appends(&brokers, &plain).await.is_err(),
        "a plaintext client wrote to the TLS listener"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_gateway_and_the_processor_log_in_to_a_kafka_that_asks_for_sasl() {
    let stack = common::stack();
    let security = healthpipe_config::KafkaSecurity {
        kafka_security_protocol: "sasl_ssl".into(),
        kafka_ssl_ca_location: Some(stack_var(stack, "STACK_KAFKA_TLS_CA")),
        kafka_sasl_mechanism: Some("PLAIN".into()),
        kafka_sasl_username: Some(stack_var(stack, "STACK_KAFKA_SASL_USERNAME")),
        kafka_sasl_password: Some(stack_var(stack, "STACK_KAFKA_SASL_PASSWORD")),
    };
    let brokers = stack_var(stack, "STACK_KAFKA_SASL_BROKERS");
    through_the_listener(stack, &brokers, security.clone()).await;
    // The listener really asks: a wrong password, or TLS without a login, gets nowhere.
    let wrong = healthpipe_config::KafkaSecurity {
        kafka_sasl_password: Some("not the password".into()),
        ..security.clone()
    };
    assert!(
        appends(&brokers, &wrong).await.is_err(),
        "a client with a wrong password wrote to the SASL listener"
    );
    let tls_only = healthpipe_config::KafkaSecurity {
        kafka_security_protocol: "ssl".into(),
        kafka_sasl_mechanism: None,
        kafka_sasl_username: None,
        kafka_sasl_password: None,
        ..security
    };
    assert!(
        appends(&brokers, &tls_only).await.is_err(),
        "a client without a login wrote to the SASL listener"
    );
}

fn stack_var(stack: &common::Stack, name: &str) -> String {
    stack
        .vars
        .get(name)
        .unwrap_or_else(|| panic!("the local stack exports {name}: run scripts/stack up"))
        .clone()
}

/// A gateway and an aggregation processor that reach Kafka only through `brokers` with
/// `security`: a sync is acknowledged (the listener took it) and aggregated (the processor
/// read it there). Topics are made through the plain listener.
async fn through_the_listener(
    stack: &common::Stack,
    brokers: &str,
    security: healthpipe_config::KafkaSecurity,
) {
    let mut pipeline = common::Pipeline::without_services(&stack.kafka_brokers).await;
    pipeline.base_url = pipeline
        .start_gateway_with(healthpipe_gateway::GatewayConfig {
            kafka_brokers: brokers.to_string(),
            kafka_security: security.clone(),
            ..pipeline.gateway_config()
        })
        .await;
    let processor = healthpipe_processors::ProcessorConfig {
        kafka_brokers: brokers.to_string(),
        kafka_security: security,
        ..pipeline.processor_config()
    };
    let token = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(healthpipe_processors::run_aggregation(
        processor,
        token.child_token(),
    ));
    let user = pipeline.new_user("UTC").await;
    let device = user.device("iphone", &common::unique("phone")).await;
    let response = user
        .post(
            &format!("/api/v1/devices/{device}/sync"),
            serde_json::json!({"samples": [{"type": "STEPS", "value": 4321, "unit": "count",
                "start_date": "2026-11-20T08:00:00Z", "end_date": "2026-11-20T08:30:00Z"}]}),
        )
        .await;
    assert_eq!(response.status(), 200, "a 200 means the listener took it");
    pipeline
        .wait_for_sql(
            &format!(
                "SELECT value FROM aggregates WHERE user_id = '{}' AND period = 'day'",
                user.user_id
            ),
            "4321",
        )
        .await;
    token.cancel();
    running
        .await
        .unwrap()
        .expect("the processor through the listener");
}

/// Whether a producer with `security` gets a message onto a topic through `brokers` within
/// 3 s; the error as text if not.
async fn appends(brokers: &str, security: &healthpipe_config::KafkaSecurity) -> Result<(), String> {
    let mut config = rdkafka::ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("message.timeout.ms", "3000");
    for (key, value) in security.properties() {
        config.set(key, value);
    }
    let producer: rdkafka::producer::FutureProducer = config.create().map_err(|e| e.to_string())?;
    producer
        .send(
            rdkafka::producer::FutureRecord::to(&common::unique("transport"))
                .key("k")
                .payload("v"),
            std::time::Duration::from_secs(3),
        )
        .await
        .map(|_| ())
        .map_err(|(e, _)| e.to_string())
}
