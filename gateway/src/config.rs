//! Typed configuration from the environment, every setting with a documented default.

use std::net::SocketAddr;
use std::time::Duration;

use crate::error::GatewayError;

#[derive(Clone)]
pub struct GatewayConfig {
    /// `GATEWAY_ADDR`, default `127.0.0.1:8080`.
    pub addr: SocketAddr,
    /// `DATABASE_URL` (required): accounts, sessions and devices live there.
    pub database_url: String,
    /// `DB_POOL_SIZE`, default 16.
    pub db_pool_size: usize,
    /// `KAFKA_BROKERS`, default `127.0.0.1:59092`.
    pub kafka_brokers: String,
    /// `SCHEMA_REGISTRY_URL`, default `http://127.0.0.1:58081`: any Confluent-compatible registry.
    pub registry_url: String,
    /// `TOPIC_PREFIX`, default `healthpipe`.
    pub topic_prefix: String,
    /// `PRODUCE_TIMEOUT_MS`, default 10000: how long a request waits for Kafka before 503.
    pub produce_timeout: Duration,
    /// `SESSION_TTL_HOURS`, default 720 (30 days).
    pub session_ttl: chrono::Duration,
}

impl std::fmt::Debug for GatewayConfig {
    /// The database URL carries a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayConfig")
            .field("addr", &self.addr)
            .field("database_url", &"<redacted>")
            .field("kafka_brokers", &self.kafka_brokers)
            .field("registry_url", &self.registry_url)
            .field("topic_prefix", &self.topic_prefix)
            .finish()
    }
}

impl GatewayConfig {
    /// Reads the environment; reports every bad or missing setting at once.
    pub fn from_env() -> Result<Self, GatewayError> {
        let mut errors = Vec::new();
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let mut parse = |k: &str, default: &str| -> u64 {
            let raw = var(k).unwrap_or_else(|| default.to_string());
            raw.parse().unwrap_or_else(|_| {
                errors.push(format!("{k}={raw:?} is not a whole number"));
                0
            })
        };
        let db_pool_size = parse("DB_POOL_SIZE", "16") as usize;
        let produce_timeout = Duration::from_millis(parse("PRODUCE_TIMEOUT_MS", "10000"));
        let session_ttl = chrono::Duration::hours(parse("SESSION_TTL_HOURS", "720") as i64);
        let addr_raw = var("GATEWAY_ADDR").unwrap_or_else(|| "127.0.0.1:8080".into());
        let addr = addr_raw.parse().unwrap_or_else(|_| {
            errors.push(format!("GATEWAY_ADDR={addr_raw:?} is not host:port"));
            SocketAddr::from(([127, 0, 0, 1], 8080))
        });
        let database_url = var("DATABASE_URL").unwrap_or_else(|| {
            errors.push("DATABASE_URL is not set".into());
            String::new()
        });
        if !errors.is_empty() {
            return Err(GatewayError::Config(errors.join("; ")));
        }
        Ok(Self {
            addr,
            database_url,
            db_pool_size,
            kafka_brokers: var("KAFKA_BROKERS").unwrap_or_else(|| "127.0.0.1:59092".into()),
            registry_url: var("SCHEMA_REGISTRY_URL")
                .unwrap_or_else(|| "http://127.0.0.1:58081".into()),
            topic_prefix: var("TOPIC_PREFIX").unwrap_or_else(|| "healthpipe".into()),
            produce_timeout,
            session_ttl,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_database_url() {
        let config = GatewayConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: "postgres://app:s3cret-pw@db.internal:5432/healthpipe".into(),
            db_pool_size: 4,
            kafka_brokers: "127.0.0.1:9092".into(),
            registry_url: "http://127.0.0.1:8081".into(),
            topic_prefix: "hp".into(),
            produce_timeout: Duration::from_secs(1),
            session_ttl: chrono::Duration::hours(1),
        };
        let shown = format!("{config:?} {config:#?}");
        assert!(!shown.contains("s3cret-pw"), "{shown}");
        assert!(!shown.contains("db.internal"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
