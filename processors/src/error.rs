//! Processor errors, each with the class the runtime acts on (see `runtime::runner`): retry,
//! dead-letter, stop the partition, or exit.

use healthpipe_storage::ErrorClass;

#[derive(Debug, thiserror::Error)]
pub enum ProcessorError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// A storage statement failed; its class says whether to retry, dead-letter or stop.
    #[error("storage: {0}")]
    Store(#[from] healthpipe_storage::StoreError),
    /// The Kafka consumer stayed out of its group through every replacement: exit, so the
    /// orchestrator restarts the process.
    #[error("kafka consumer stalled: {0}")]
    Stalled(String),
    /// The schema registry is down: retry the batch.
    #[error("schema registry unavailable: {0}")]
    Registry(String),
}

impl From<tokio_postgres::Error> for ProcessorError {
    /// Classified and stripped of row values at once (see `healthpipe_storage::error`).
    fn from(error: tokio_postgres::Error) -> Self {
        Self::Store(healthpipe_storage::StoreError::from_postgres(
            "transaction",
            &error,
        ))
    }
}

impl From<deadpool_postgres::PoolError> for ProcessorError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        Self::Store(error.into())
    }
}

impl ProcessorError {
    /// What the runtime does about it.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Config(_) | Self::Stalled(_) => ErrorClass::Fatal,
            Self::Kafka(_) | Self::Registry(_) => ErrorClass::Transient,
            Self::Store(e) => e.class(),
        }
    }

    pub fn is_retryable(&self) -> bool {
        self.class() == ErrorClass::Transient
    }

    /// The label of a retry in the metrics.
    pub fn cause(&self) -> &'static str {
        match self {
            Self::Registry(_) => "registry",
            Self::Kafka(_) => "kafka",
            _ => "database",
        }
    }
}
