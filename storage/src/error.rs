//! Storage failures, classified once by SQLSTATE so that every caller (the gateway's error
//! mapping, the processor runtime, the schema registry) decides on the class, never on a
//! message text.
//!
//! The error never carries PostgreSQL's `DETAIL`: for a constraint or data error it holds
//! the row's values ("Failing row contains (…)"), which are health data and must not reach
//! logs, dead-letter headers or HTTP answers. Only the SQLSTATE, the constraint, table and
//! column names, and the statement's name are kept.

use deadpool_postgres::PoolError;
use tokio_postgres::error::SqlState;

/// What a caller can do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The database is down, restarting, overloaded, or the transaction lost a race
    /// (serialisation failure, deadlock): the same work may succeed if retried later.
    Transient,
    /// SQLSTATE class 22: a value the database rejects (out of range, bad encoding). Retrying
    /// the same input fails again; the input is at fault.
    Data,
    /// SQLSTATE class 23: a constraint rejected a write. Inputs are validated before they
    /// reach the database, so this means a bug or events applied out of order, never bad input.
    Constraint,
    /// Anything else (a missing table, a syntax error, permissions): the code or the
    /// deployment is wrong; restarting may pick up a fixed version.
    Fatal,
}

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No connection, or the server is shutting down, restarting or overloaded.
    #[error("database unavailable ({statement}): {reason}")]
    Unavailable { statement: String, reason: String },
    /// A statement failed; `class` says whether retrying can help.
    #[error("{statement} failed: {summary} (SQLSTATE {code})")]
    Statement {
        statement: String,
        class: ErrorClass,
        code: String,
        /// A description without any row values: the server's message for errors that
        /// carry none, else the constraint, table and column names.
        summary: String,
    },
    /// The pool could not be built from the configuration.
    #[error("cannot build the connection pool: {0}")]
    Pool(String),
    /// A stored row breaks an invariant the code relies on.
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// A data key could not be wrapped or unwrapped: a key-encryption key is missing from
    /// the configuration, or a wrapped key does not authenticate.
    #[error("key store: {0}")]
    Keys(String),
}

/// The class of a PostgreSQL error, by SQLSTATE, or by the driver's error kind when the
/// server said nothing. Shared with the schema registry.
pub fn classify(error: &tokio_postgres::Error) -> ErrorClass {
    match error.code() {
        Some(code) => classify_code(code),
        None => classify_driver(error).0,
    }
}

/// Errors the driver raises itself. It exposes no kind, only its fixed description (the
/// part before the first `": "`), so that is what is matched; anything unknown is fatal.
fn classify_driver(error: &tokio_postgres::Error) -> (ErrorClass, String) {
    let text = error.to_string();
    let head = text.split(": ").next().unwrap_or_default().to_string();
    let transient = [
        "error communicating with the server",
        "connection closed",
        "error connecting to server",
        "timeout waiting for server",
        "error performing TLS handshake",
    ];
    if error.is_closed() || transient.contains(&head.as_str()) {
        // I/O causes name the socket problem, never data: keep them.
        (ErrorClass::Transient, text)
    } else if head.starts_with("error serializing parameter") {
        // A value the wire format cannot carry: the cause may quote it, so it is dropped.
        (ErrorClass::Data, head)
    } else {
        (ErrorClass::Fatal, head)
    }
}

fn classify_code(code: &SqlState) -> ErrorClass {
    let text = code.code();
    let transient = [
        &SqlState::ADMIN_SHUTDOWN,
        &SqlState::CRASH_SHUTDOWN,
        &SqlState::CANNOT_CONNECT_NOW,
        &SqlState::QUERY_CANCELED,
        &SqlState::T_R_SERIALIZATION_FAILURE,
        &SqlState::T_R_DEADLOCK_DETECTED,
        &SqlState::LOCK_NOT_AVAILABLE,
        &SqlState::IDLE_SESSION_TIMEOUT,
    ];
    if transient.contains(&code)
        // 08: connection exception; 53: insufficient resources (disk, memory, connections).
        || text.starts_with("08")
        || text.starts_with("53")
    {
        ErrorClass::Transient
    } else if text.starts_with("22") {
        ErrorClass::Data
    } else if text.starts_with("23") {
        ErrorClass::Constraint
    } else {
        ErrorClass::Fatal
    }
}

impl StoreError {
    /// Wraps a driver error of `statement` without any row values.
    pub fn from_postgres(statement: &str, error: &tokio_postgres::Error) -> Self {
        let Some(db) = error.as_db_error() else {
            let (class, summary) = classify_driver(error);
            if class == ErrorClass::Transient {
                return Self::Unavailable {
                    statement: statement.to_string(),
                    reason: summary,
                };
            }
            return Self::Statement {
                statement: statement.to_string(),
                class,
                code: "none".into(),
                summary,
            };
        };
        let class = classify_code(db.code());
        if class == ErrorClass::Transient {
            return Self::Unavailable {
                statement: statement.to_string(),
                reason: format!("{} (SQLSTATE {})", db.message(), db.code().code()),
            };
        }
        let summary = match class {
            ErrorClass::Data | ErrorClass::Constraint => {
                // Class 22 and 23 messages can quote the offending value: keep names only.
                let mut parts = Vec::new();
                if let Some(constraint) = db.constraint() {
                    parts.push(format!("constraint {constraint}"));
                }
                if let Some(table) = db.table() {
                    parts.push(format!("table {table}"));
                }
                if let Some(column) = db.column() {
                    parts.push(format!("column {column}"));
                }
                let what = if class == ErrorClass::Data {
                    "invalid data"
                } else {
                    "constraint violated"
                };
                if parts.is_empty() {
                    what.to_string()
                } else {
                    format!("{what}: {}", parts.join(", "))
                }
            }
            _ => db.message().to_string(),
        };
        Self::Statement {
            statement: statement.to_string(),
            class,
            code: db.code().code().to_string(),
            summary,
        }
    }

    /// What a caller can do about it.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Unavailable { .. } => ErrorClass::Transient,
            Self::Statement { class, .. } => *class,
            Self::Pool(_) | Self::Corrupt(_) | Self::Keys(_) => ErrorClass::Fatal,
        }
    }

    /// Whether retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        self.class() == ErrorClass::Transient
    }
}

impl From<PoolError> for StoreError {
    fn from(error: PoolError) -> Self {
        match error {
            PoolError::Backend(source) => Self::from_postgres("connect", &source),
            other => Self::Unavailable {
                statement: "connect".into(),
                reason: other.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_sqlstate_class() {
        assert_eq!(
            classify_code(&SqlState::NUMERIC_VALUE_OUT_OF_RANGE),
            ErrorClass::Data
        );
        assert_eq!(
            classify_code(&SqlState::INVALID_TEXT_REPRESENTATION),
            ErrorClass::Data
        );
        assert_eq!(
            classify_code(&SqlState::UNIQUE_VIOLATION),
            ErrorClass::Constraint
        );
        assert_eq!(
            classify_code(&SqlState::CHECK_VIOLATION),
            ErrorClass::Constraint
        );
        assert_eq!(
            classify_code(&SqlState::NOT_NULL_VIOLATION),
            ErrorClass::Constraint
        );
        assert_eq!(
            classify_code(&SqlState::ADMIN_SHUTDOWN),
            ErrorClass::Transient
        );
        assert_eq!(
            classify_code(&SqlState::CONNECTION_FAILURE),
            ErrorClass::Transient
        );
        assert_eq!(classify_code(&SqlState::DISK_FULL), ErrorClass::Transient);
        assert_eq!(
            classify_code(&SqlState::T_R_SERIALIZATION_FAILURE),
            ErrorClass::Transient
        );
        assert_eq!(classify_code(&SqlState::UNDEFINED_TABLE), ErrorClass::Fatal);
        assert_eq!(classify_code(&SqlState::SYNTAX_ERROR), ErrorClass::Fatal);
    }
}
