//! Typed configuration from the environment, every setting declared once in [`Settings`]
//! with its variable, type and default, read by `healthpipe_config` (which reports every bad
//! or missing setting at once).

use std::net::SocketAddr;
use std::time::Duration;

use clap::builder::TypedValueParser as _;
use healthpipe_config::{EventLogSettings, KeySettings, Redacted};
use healthpipe_schemas::Topics;

use crate::error::ProcessorError;

#[derive(Clone)]
pub struct ProcessorConfig {
    /// `DATABASE_URL` (required).
    pub database_url: String,
    /// `KAFKA_BROKERS`, default `127.0.0.1:59092`.
    pub kafka_brokers: String,
    /// `SCHEMA_REGISTRY_URL`, default `http://127.0.0.1:58081`.
    pub registry_url: String,
    /// `TOPIC_PREFIX`, default `healthpipe`, and `USER_EVENTS_TOPIC`, default
    /// `<prefix>.user-events`.
    pub topics: Topics,
    /// `KAFKA_STALL_TIMEOUT_SECS`, default 30: a consumer out of its group, or a producer
    /// without progress, that long is replaced (see `healthpipe_eventlog`).
    pub kafka_stall_timeout: Duration,
    /// `CONSUMER_GROUP`, default `healthpipe-<processor>` (`healthpipe-aggregation`,
    /// `healthpipe-insights`).
    pub group_id: String,
    /// `BATCH_MAX_MESSAGES`, default 100: messages applied in one transaction at most. A
    /// message holds up to 500 samples, so this bounds a batch at 50,000 samples; the
    /// benchmark measured 270 MiB peak with 100 against 628 MiB with 500, at equal or better
    /// throughput.
    pub batch_max_messages: usize,
    /// `BATCH_MAX_WAIT_MS`, default 25: how long a partial batch waits for more messages,
    /// counted from when its first message was written to Kafka (a message that queued
    /// behind a busy batch does not wait again). Every millisecond of it is freshness lost
    /// on a quiet topic; under load batches fill from what queued meanwhile.
    pub batch_max_wait: Duration,
    /// `BATCH_LANES`, default 3: batches of different partitions applied at once, each in its
    /// own transaction and connection (a partition always in the same lane, so in log
    /// order). One batch at a time leaves PostgreSQL idle while the processor plans and the
    /// processor idle while PostgreSQL writes. On two cores the benchmark's figure 2
    /// measured 80,900 samples/s with 1 lane, 120,000 with 2 and 131,000 with 3, at the same
    /// peak memory: about one lane more than the cores PostgreSQL and the processor share.
    pub batch_lanes: usize,
    /// `METRICS_ADDR`, default unset: where to serve `GET /metrics` (e.g. `0.0.0.0:9464`).
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// `TICK_INTERVAL_SECS`, default 60 (insights processor): how often the ticker looks for
    /// users whose local day turned; 0 turns the ticker off (`None`).
    pub tick_interval: Option<Duration>,
    /// `ANNOUNCE_CHANGES`, default `true` (aggregation processor): publish `AggregatesUpdated`.
    /// Set `false` to rebuild a database from the log while the insights processor replays
    /// the announcements already on their topic, so they are not appended a second time.
    pub announce_changes: bool,
    /// `KEY_ENCRYPTION_KEYS_FILE` or `KEY_ENCRYPTION_KEYS` (one required): the
    /// key-encryption keys that unwrap the users' data keys.
    pub keys: KeySettings,
    /// `KAFKA_SECURITY_PROTOCOL` (default `plaintext`), `KAFKA_SSL_CA_LOCATION`,
    /// `KAFKA_SASL_*`: how the consumer and producers reach Kafka.
    pub kafka_security: healthpipe_config::KafkaSecurity,
    /// `KEY_STORE_DATABASE_URL`, default `DATABASE_URL`: where the users' wrapped data keys
    /// are. Set it to replay the log into another database: the key store is not a
    /// projection, and the replay reads the live one.
    pub key_store_url: Option<String>,
    /// The UTC day whose retention horizons the projections apply; `None`: the current day.
    pub retention_day: Option<chrono::NaiveDate>,
}

/// The processors' environment, as clap declares and documents it.
#[derive(Debug, clap::Args)]
struct Settings {
    /// PostgreSQL: the projections and the consumer offsets live there.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true,
          value_parser = healthpipe_config::database_url)]
    database_url: String,
    #[command(flatten)]
    event_log: EventLogSettings,
    /// The consumer group [default: healthpipe-<processor>].
    #[arg(long, env = "CONSUMER_GROUP")]
    consumer_group: Option<String>,
    /// Messages applied in one transaction at most (0 counts as 1).
    #[arg(long, env = "BATCH_MAX_MESSAGES", default_value_t = 100)]
    batch_max_messages: usize,
    /// How long a partial batch waits for more messages, in milliseconds from when its first
    /// message was written.
    #[arg(long, env = "BATCH_MAX_WAIT_MS", default_value_t = 25)]
    batch_max_wait_ms: u64,
    /// Batches of different partitions applied at once, each in its own transaction (0
    /// counts as 1).
    #[arg(long, env = "BATCH_LANES", default_value_t = 3)]
    batch_lanes: usize,
    /// Where to serve `GET /metrics` (e.g. `0.0.0.0:9464`) [default: not served].
    #[arg(long, env = "METRICS_ADDR")]
    metrics_addr: Option<SocketAddr>,
    /// How often the insights processor's ticker looks for users whose local day turned, in
    /// seconds; 0 turns it off.
    #[arg(long, env = "TICK_INTERVAL_SECS", default_value_t = 60)]
    tick_interval_secs: u64,
    /// Whether the aggregation processor publishes `AggregatesUpdated` (true/false, 1/0).
    #[arg(long, env = "ANNOUNCE_CHANGES", default_value = "true", action = clap::ArgAction::Set,
          value_parser = clap::builder::PossibleValuesParser::new(["true", "false", "1", "0"])
              .map(|v| v == "true" || v == "1"))]
    announce_changes: bool,
    #[command(flatten)]
    keys: KeySettings,
    /// Where the users' wrapped data keys are [default: DATABASE_URL].
    #[arg(long, env = "KEY_STORE_DATABASE_URL", hide_env_values = true,
          value_parser = healthpipe_config::database_url)]
    key_store_url: Option<String>,
    /// Apply the retention horizons of this UTC day (YYYY-MM-DD) instead of today's, to
    /// rehearse a retention run or to replay as of the day one ran [default: today].
    #[arg(long, env = "RETENTION_AS_OF")]
    retention_as_of: Option<chrono::NaiveDate>,
}

impl Settings {
    fn into_config(self, processor: &str) -> ProcessorConfig {
        ProcessorConfig {
            database_url: self.database_url,
            kafka_stall_timeout: self.event_log.kafka_stall_timeout(),
            kafka_security: self.event_log.kafka_security.clone(),
            kafka_brokers: self.event_log.kafka_brokers,
            registry_url: self.event_log.registry_url,
            topics: Topics::named(
                &self.event_log.topic_prefix,
                self.event_log.user_events_topic.as_deref(),
            ),
            group_id: self
                .consumer_group
                .unwrap_or_else(|| format!("healthpipe-{processor}")),
            batch_max_messages: self.batch_max_messages.max(1),
            batch_max_wait: Duration::from_millis(self.batch_max_wait_ms),
            batch_lanes: self.batch_lanes.max(1),
            metrics_addr: self.metrics_addr,
            tick_interval: Some(self.tick_interval_secs)
                .filter(|s| *s > 0)
                .map(Duration::from_secs),
            announce_changes: self.announce_changes,
            keys: self.keys,
            key_store_url: self.key_store_url,
            retention_day: self.retention_as_of,
        }
    }
}

impl std::fmt::Debug for ProcessorConfig {
    /// Every field, with the passwords in the URLs masked.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessorConfig")
            .field("database_url", &Redacted(&self.database_url))
            .field("kafka_brokers", &self.kafka_brokers)
            .field("registry_url", &Redacted(&self.registry_url))
            .field("topics", &self.topics)
            .field("kafka_stall_timeout", &self.kafka_stall_timeout)
            .field("group_id", &self.group_id)
            .field("batch_max_messages", &self.batch_max_messages)
            .field("batch_max_wait", &self.batch_max_wait)
            .field("batch_lanes", &self.batch_lanes)
            .field("metrics_addr", &self.metrics_addr)
            .field("tick_interval", &self.tick_interval)
            .field("announce_changes", &self.announce_changes)
            .field("keys", &self.keys)
            .field("kafka_security", &self.kafka_security)
            .field(
                "key_store_url",
                &self.key_store_url.as_deref().map(Redacted),
            )
            .finish()
    }
}

impl ProcessorConfig {
    /// The key provider the configured key-encryption keys make.
    pub fn key_provider(
        &self,
    ) -> Result<std::sync::Arc<dyn healthpipe_crypto::KeyProvider>, ProcessorError> {
        let spec = self.keys.spec().map_err(ProcessorError::Config)?;
        let provider = healthpipe_crypto::LocalKeyProvider::parse(&spec)
            .map_err(|e| ProcessorError::Config(e.to_string()))?;
        Ok(std::sync::Arc::new(provider))
    }

    /// Reads the environment for the processor named `processor` (`aggregation`,
    /// `insights`); reports every bad or missing setting at once.
    pub fn from_env(processor: &str) -> Result<Self, ProcessorError> {
        Self::from_lookup(processor, |k| std::env::var(k).ok())
    }

    /// [`Self::from_env`] with the environment injected, so tests leave the process's alone.
    fn from_lookup(
        processor: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ProcessorError> {
        healthpipe_config::from_lookup::<Settings>("processor", lookup)
            .map(|settings| settings.into_config(processor))
            .map_err(|e| ProcessorError::Config(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<ProcessorConfig, ProcessorError> {
        ProcessorConfig::from_lookup("insights", healthpipe_config::lookup_in(vars))
    }

    #[test]
    fn defaults_apply_when_only_the_database_is_given() {
        let config = read(&[("DATABASE_URL", "postgres://app@db/healthpipe")]).unwrap();
        assert_eq!(config.group_id, "healthpipe-insights");
        assert_eq!(config.batch_max_messages, 100);
        assert_eq!(config.batch_max_wait, Duration::from_millis(25));
        assert_eq!(config.batch_lanes, 3);
        assert_eq!(config.metrics_addr, None);
        assert_eq!(config.tick_interval, Some(Duration::from_secs(60)));
        assert_eq!(config.kafka_stall_timeout, Duration::from_secs(30));
        assert!(config.announce_changes);
    }

    #[test]
    fn values_are_read_as_documented() {
        let config = read(&[
            ("DATABASE_URL", "postgres://app@db/healthpipe"),
            ("CONSUMER_GROUP", "rebuild"),
            ("BATCH_MAX_MESSAGES", "0"),
            ("BATCH_LANES", "0"),
            ("METRICS_ADDR", "0.0.0.0:9464"),
            ("TICK_INTERVAL_SECS", "0"),
            ("ANNOUNCE_CHANGES", "0"),
        ])
        .unwrap();
        assert_eq!(config.group_id, "rebuild");
        assert_eq!(config.batch_max_messages, 1);
        assert_eq!(config.batch_lanes, 1);
        assert_eq!(config.metrics_addr, Some("0.0.0.0:9464".parse().unwrap()));
        assert_eq!(config.tick_interval, None);
        assert!(!config.announce_changes);
    }

    #[test]
    fn a_bad_value_and_a_missing_one_are_reported_together() {
        let err = read(&[
            ("BATCH_MAX_WAIT_MS", "soon"),
            ("ANNOUNCE_CHANGES", "maybe"),
            ("METRICS_ADDR", "everywhere"),
        ])
        .unwrap_err();
        let text = err.to_string();
        for part in [
            "DATABASE_URL is required",
            "BATCH_MAX_WAIT_MS=\"soon\"",
            "ANNOUNCE_CHANGES=\"maybe\"",
            "METRICS_ADDR=\"everywhere\"",
        ] {
            assert!(text.contains(part), "{part} missing from {text}");
        }
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let config = read(&[("DATABASE_URL", "postgres://app:s3cret-pw@db:5432/hp")]).unwrap();
        let shown = format!("{config:?} {config:#?}");
        assert!(!shown.contains("s3cret-pw"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}
