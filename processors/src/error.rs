//! Processor errors, classified: a retryable error pauses the consumer and retries the same
//! batch; a poison message goes to the dead-letter topic; a fatal error stops the process.

#[derive(Debug, thiserror::Error)]
pub enum ProcessorError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// The database is unreachable or the transaction failed to commit: retry the batch.
    #[error("database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// A storage statement failed; its class says whether to retry, dead-letter or stop.
    #[error("storage: {0}")]
    Store(#[from] healthpipe_storage::StoreError),
    /// The schema registry is down: retry the batch.
    #[error("schema registry unavailable: {0}")]
    Registry(String),
    /// Another instance advanced this partition past our batch while we worked: drop the
    /// batch, Kafka will hand us the rest.
    #[error("partition {0} was advanced by another instance")]
    Fenced(i32),
}

impl ProcessorError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Database(_) | Self::Pool(_) | Self::Registry(_) | Self::Kafka(_)
        ) || matches!(self, Self::Store(e) if e.is_transient())
    }
}
