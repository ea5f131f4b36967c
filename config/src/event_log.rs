//! The settings every service that reads or writes the event log shares.

/// Where the event log is: the Kafka brokers, the schema registry its contracts live in,
/// and the prefix of its topic names. Flattened (`#[command(flatten)]`) into a service's
/// settings, so the variables, defaults and documentation are declared once.
#[derive(Debug, Clone, clap::Args)]
pub struct EventLogSettings {
    /// Kafka bootstrap servers.
    #[arg(long, env = "KAFKA_BROKERS", default_value = "127.0.0.1:59092")]
    pub kafka_brokers: String,
    /// Any Confluent-compatible schema registry.
    #[arg(
        long,
        env = "SCHEMA_REGISTRY_URL",
        default_value = "http://127.0.0.1:58081"
    )]
    pub registry_url: String,
    /// Prefix of the topic names.
    #[arg(long, env = "TOPIC_PREFIX", default_value = "healthpipe")]
    pub topic_prefix: String,
    /// The per-user stream's topic [default: <prefix>.user-events]. Set on every service
    /// once `healthpipe topic reencrypt --switch` moved the processors to a new one.
    #[arg(long, env = "USER_EVENTS_TOPIC")]
    pub user_events_topic: Option<String>,
    /// How long a Kafka client may go without progress (deliveries failing, or out of its
    /// consumer group) before it is replaced by a new one, in seconds. Longer than a broker
    /// fail-over or a consumer-group rebalance takes; a processor whose replacements do not
    /// recover either exits after three.
    #[arg(long, env = "KAFKA_STALL_TIMEOUT_SECS", default_value_t = 30)]
    pub kafka_stall_timeout_secs: u64,
    #[command(flatten)]
    pub kafka_security: crate::KafkaSecurity,
}

impl EventLogSettings {
    /// [`Self::kafka_stall_timeout_secs`] as a duration.
    pub fn kafka_stall_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.kafka_stall_timeout_secs)
    }
}
