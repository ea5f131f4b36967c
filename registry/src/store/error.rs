//! Storage failures, classified by what a caller can do about them.

use deadpool_postgres::PoolError;
use healthpipe_storage::ErrorClass;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No connection could be had in time: the database is down or saturated; retrying later
    /// may work.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A statement failed for another reason (constraint, syntax, permissions...).
    #[error("query {query} failed: {source}")]
    Query {
        query: String,
        #[source]
        source: tokio_postgres::Error,
    },
    /// A statement failed for another reason, classified by the storage layer (its text
    /// carries no row values).
    #[error(transparent)]
    Statement(healthpipe_storage::StoreError),
    /// The pool could not be built from the configuration.
    #[error("cannot build the connection pool: {0}")]
    Pool(String),
    /// The stored data breaks an invariant the registry relies on.
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// CPU work moved off the async runtime panicked or was cancelled.
    #[error("background task failed: {0}")]
    Worker(#[from] tokio::task::JoinError),
}

impl StoreError {
    /// Classifies a statement error with the SQLSTATE mapping every healthpipe service
    /// shares (`healthpipe_storage::error::classify`): transient problems mean "unavailable",
    /// everything else is reported with the statement's name.
    pub(crate) fn query(query: &str, source: tokio_postgres::Error) -> Self {
        let unavailable = healthpipe_storage::error::classify(&source) == ErrorClass::Transient;
        if unavailable {
            Self::Unavailable(format!("{query}: {source}"))
        } else {
            Self::Query {
                query: query.to_string(),
                source,
            }
        }
    }

    /// Whether the failure is transient (a client may retry).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

impl From<PoolError> for StoreError {
    fn from(error: PoolError) -> Self {
        match error {
            PoolError::Backend(source) => Self::query("connect", source),
            other => Self::Unavailable(other.to_string()),
        }
    }
}

impl From<healthpipe_storage::StoreError> for StoreError {
    fn from(error: healthpipe_storage::StoreError) -> Self {
        if error.is_transient() {
            Self::Unavailable(error.to_string())
        } else {
            Self::Statement(error)
        }
    }
}
