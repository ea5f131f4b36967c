//! Typed configuration from the environment, every setting declared once in [`Settings`]
//! with its variable, type and default, read by `healthpipe_config` (which reports every bad
//! or missing setting at once).

use std::net::SocketAddr;
use std::time::Duration;

use healthpipe_config::{EventLogSettings, KafkaSecurity, KeySettings, Redacted};
use healthpipe_schemas::Topics;

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
    /// `TOPIC_PREFIX`, default `healthpipe`, and `USER_EVENTS_TOPIC`, default
    /// `<prefix>.user-events`.
    pub topics: Topics,
    /// `KAFKA_STALL_TIMEOUT_SECS`, default 30: a producer without progress that long is
    /// replaced (see `healthpipe_eventlog`).
    pub kafka_stall_timeout: Duration,
    /// `PRODUCE_TIMEOUT_MS`, default 10000: how long a request waits for Kafka before 503.
    pub produce_timeout: Duration,
    /// `BODY_READ_TIMEOUT_SECS`, default 30: a request body not received by then is
    /// answered 408 and its connection freed.
    pub body_read_timeout: Duration,
    /// `SESSION_TTL_HOURS`, default 720 (30 days).
    pub session_ttl: chrono::Duration,
    /// `PASSWORD_HASHES`, default 2: password hashes computed at once (19 MiB each).
    pub password_hashes: usize,
    /// `TRUSTED_PROXIES`, default none: addresses of proxies whose `X-Forwarded-For` names
    /// the client (sign-in attempts are counted per client address).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// `KEY_ENCRYPTION_KEYS_FILE` or `KEY_ENCRYPTION_KEYS` (one required): the
    /// key-encryption keys that wrap the users' data keys.
    pub keys: KeySettings,
    /// `KAFKA_SECURITY_PROTOCOL` (default `plaintext`), `KAFKA_SSL_CA_LOCATION`,
    /// `KAFKA_SASL_*`: how the producer reaches Kafka.
    pub kafka_security: KafkaSecurity,
    /// `PROJECTION_GROUP`, default `healthpipe-aggregation`: the consumer group of the
    /// aggregation processor, whose stored positions tell when a share change is applied.
    pub projection_group: String,
    /// `PROJECTION_WAIT_MS`, default 10000: how long a share change waits for the processor
    /// to apply it before answering 503 (the change is saved and applies shortly).
    pub projection_wait: Duration,
    /// `PUBLIC_URL`, default `http://127.0.0.1:8080`: where viewers reach the gateway, the
    /// base of SMART Health Links' manifest URLs.
    pub public_url: String,
    /// `IMPORT_*`: uploads of exports and the import jobs reading them.
    pub imports: ImportSettings,
}

/// How imports of exported health data run (see `crate::imports`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSettings {
    /// `IMPORT_DIR`, default `<temporary directory>/healthpipe-imports`: where uploads are
    /// kept while their import runs (deleted after; left-overs removed at start-up).
    pub dir: std::path::PathBuf,
    /// `IMPORT_MAX_BYTES`, default 8 GiB: the largest upload taken (413 beyond).
    pub max_bytes: u64,
    /// `IMPORT_STALE_SECS`, default 30: a running import whose progress has not moved for
    /// that long was interrupted (its process stopped) and is marked failed.
    pub stale_after: Duration,
    /// `IMPORT_PROCESSING_WAIT_SECS`, default 600: how long an import waits for the
    /// processor to apply what it appended before it reports without the projections' view.
    pub processing_wait: Duration,
}

impl Default for ImportSettings {
    fn default() -> Self {
        ImportSettings {
            dir: std::env::temp_dir().join("healthpipe-imports"),
            max_bytes: 8 << 30,
            stale_after: Duration::from_secs(30),
            processing_wait: Duration::from_secs(600),
        }
    }
}

/// The gateway's environment, as clap declares and documents it.
#[derive(Debug, clap::Args)]
struct Settings {
    /// Where the HTTP API listens.
    #[arg(long, env = "GATEWAY_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// PostgreSQL: accounts, sessions and devices live there.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true,
          value_parser = healthpipe_config::database_url)]
    database_url: String,
    /// Connections in the pool.
    #[arg(long, env = "DB_POOL_SIZE", default_value_t = 16)]
    db_pool_size: usize,
    #[command(flatten)]
    event_log: EventLogSettings,
    /// How long a request waits for Kafka before answering 503, in milliseconds.
    #[arg(long, env = "PRODUCE_TIMEOUT_MS", default_value_t = 10_000)]
    produce_timeout_ms: u64,
    /// How long a request body may take to arrive, in seconds (then 408).
    #[arg(long, env = "BODY_READ_TIMEOUT_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    body_read_timeout_secs: u64,
    /// How long a session token is valid, in hours (30 days).
    #[arg(long, env = "SESSION_TTL_HOURS", default_value_t = 720)]
    session_ttl_hours: u32,
    /// Password hashes computed at once; more wait (each takes 19 MiB and a core for tens
    /// of milliseconds).
    #[arg(long, env = "PASSWORD_HASHES", default_value_t = 2,
          value_parser = clap::value_parser!(u16).range(1..))]
    password_hashes: u16,
    /// Comma-separated addresses of the proxies in front of the gateway, whose
    /// `X-Forwarded-For` header names the client.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxies: Vec<std::net::IpAddr>,
    #[command(flatten)]
    keys: KeySettings,
    /// The aggregation processor's consumer group: a share change is answered once its
    /// stored position passed the change's event.
    #[arg(
        long,
        env = "PROJECTION_GROUP",
        default_value = "healthpipe-aggregation"
    )]
    projection_group: String,
    /// How long a share change waits for the processor to apply it, in milliseconds.
    #[arg(long, env = "PROJECTION_WAIT_MS", default_value_t = 10_000)]
    projection_wait_ms: u64,
    /// Where viewers reach the gateway (behind its load balancer): the base of the manifest
    /// URLs in SMART Health Links.
    #[arg(long, env = "PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
    public_url: String,
    /// Where uploads of exports are kept while their import runs (default: a
    /// `healthpipe-imports` folder in the temporary directory).
    #[arg(long, env = "IMPORT_DIR")]
    import_dir: Option<std::path::PathBuf>,
    /// The largest upload of an export taken, in bytes (8 GiB).
    #[arg(long, env = "IMPORT_MAX_BYTES", default_value_t = 8 << 30)]
    import_max_bytes: u64,
    /// Seconds without progress after which a running import counts as interrupted.
    #[arg(long, env = "IMPORT_STALE_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(2..))]
    import_stale_secs: u64,
    /// Seconds an import waits for the processor to apply it before it reports anyway.
    #[arg(long, env = "IMPORT_PROCESSING_WAIT_SECS", default_value_t = 600)]
    import_processing_wait_secs: u64,
}

impl From<Settings> for GatewayConfig {
    fn from(s: Settings) -> Self {
        Self {
            addr: s.addr,
            database_url: s.database_url,
            db_pool_size: s.db_pool_size,
            kafka_stall_timeout: s.event_log.kafka_stall_timeout(),
            kafka_security: s.event_log.kafka_security.clone(),
            kafka_brokers: s.event_log.kafka_brokers,
            registry_url: s.event_log.registry_url,
            topics: Topics::named(
                &s.event_log.topic_prefix,
                s.event_log.user_events_topic.as_deref(),
            ),
            produce_timeout: Duration::from_millis(s.produce_timeout_ms),
            body_read_timeout: Duration::from_secs(s.body_read_timeout_secs),
            session_ttl: chrono::Duration::hours(s.session_ttl_hours.into()),
            password_hashes: s.password_hashes.into(),
            trusted_proxies: s.trusted_proxies,
            keys: s.keys,
            projection_group: s.projection_group,
            projection_wait: Duration::from_millis(s.projection_wait_ms),
            public_url: s.public_url,
            imports: ImportSettings {
                dir: s
                    .import_dir
                    .unwrap_or_else(|| ImportSettings::default().dir),
                max_bytes: s.import_max_bytes,
                stale_after: Duration::from_secs(s.import_stale_secs),
                processing_wait: Duration::from_secs(s.import_processing_wait_secs),
            },
        }
    }
}

impl std::fmt::Debug for GatewayConfig {
    /// Every field, with the passwords in the URLs masked.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayConfig")
            .field("addr", &self.addr)
            .field("database_url", &Redacted(&self.database_url))
            .field("db_pool_size", &self.db_pool_size)
            .field("kafka_brokers", &self.kafka_brokers)
            .field("registry_url", &Redacted(&self.registry_url))
            .field("topics", &self.topics)
            .field("kafka_stall_timeout", &self.kafka_stall_timeout)
            .field("produce_timeout", &self.produce_timeout)
            .field("body_read_timeout", &self.body_read_timeout)
            .field("session_ttl", &self.session_ttl)
            .field("password_hashes", &self.password_hashes)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("keys", &self.keys)
            .field("kafka_security", &self.kafka_security)
            .field("projection_group", &self.projection_group)
            .field("projection_wait", &self.projection_wait)
            .field("public_url", &self.public_url)
            .field("imports", &self.imports)
            .finish()
    }
}

impl GatewayConfig {
    /// Reads the environment; reports every bad or missing setting at once.
    pub fn from_env() -> Result<Self, GatewayError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// [`Self::from_env`] with the environment injected, so tests leave the process's alone.
    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, GatewayError> {
        healthpipe_config::from_lookup::<Settings>("gateway", lookup)
            .map(Self::from)
            .map_err(|e| GatewayError::Config(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<GatewayConfig, GatewayError> {
        GatewayConfig::from_lookup(healthpipe_config::lookup_in(vars))
    }

    #[test]
    fn defaults_apply_when_only_the_database_is_given() {
        let config = read(&[("DATABASE_URL", "postgres://app@db/healthpipe")]).unwrap();
        assert_eq!(config.addr, SocketAddr::from(([127, 0, 0, 1], 8080)));
        assert_eq!(config.db_pool_size, 16);
        assert_eq!(config.kafka_brokers, "127.0.0.1:59092");
        assert_eq!(config.registry_url, "http://127.0.0.1:58081");
        assert_eq!(config.topics, Topics::with_prefix("healthpipe"));
        assert_eq!(config.produce_timeout, Duration::from_secs(10));
        assert_eq!(config.kafka_stall_timeout, Duration::from_secs(30));
        assert_eq!(config.session_ttl, chrono::Duration::days(30));
        assert_eq!(config.body_read_timeout, Duration::from_secs(30));
        assert_eq!(config.password_hashes, 2);
        assert!(config.trusted_proxies.is_empty());
        assert_eq!(config.imports, ImportSettings::default());
    }

    #[test]
    fn a_bad_value_and_a_missing_one_are_reported_together() {
        let err = read(&[("DB_POOL_SIZE", "lots"), ("GATEWAY_ADDR", "here")]).unwrap_err();
        let text = err.to_string();
        for part in [
            "DATABASE_URL is required",
            "DB_POOL_SIZE=\"lots\"",
            "GATEWAY_ADDR=\"here\"",
        ] {
            assert!(text.contains(part), "{part} missing from {text}");
        }
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let config = read(&[(
            "DATABASE_URL",
            "postgres://app:s3cret-pw@db.internal:5432/healthpipe",
        )])
        .unwrap();
        let shown = format!("{config:?} {config:#?}");
        assert!(!shown.contains("s3cret-pw"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}
