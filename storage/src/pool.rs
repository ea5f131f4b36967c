//! The connection pool, built one way for every service.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod, Runtime};

use crate::StoreError;

pub use deadpool_postgres::{Client, Pool, Transaction};

/// How long a caller waits for a free connection, and for a new one to open, before failing
/// as [`StoreError::Unavailable`]: a request answers 503 and a batch is retried, instead of
/// queueing for ever behind a stuck pool.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(5);

/// PostgreSQL's `statement_timeout` on every pooled connection (unless the URL sets its own
/// `options`): a statement stuck behind a lock or running away is cancelled (SQLSTATE 57014,
/// transient: retried) instead of holding its connection for ever. Far above any statement
/// the services run; migrations lift it for their own session.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(60);

/// A pool of at most `size` connections to `url` (a libpq URL or key=value string).
///
/// `RecyclingMethod::Fast` skips a round trip per checkout; a connection that died is found
/// by the statement that uses it, which then fails as [`StoreError::Unavailable`] and is
/// retried by the caller.
pub fn connect(url: &str, size: usize) -> Result<Pool, StoreError> {
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| StoreError::Pool(format!("DATABASE_URL does not parse: {e}")))?;
    config.connect_timeout(WAIT_TIMEOUT);
    if config.get_options().is_none() {
        config.options(format!(
            "-c statement_timeout={}",
            STATEMENT_TIMEOUT.as_millis()
        ));
    }
    let manager = Manager::from_config(
        config,
        tokio_postgres::NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(WAIT_TIMEOUT))
        .create_timeout(Some(WAIT_TIMEOUT))
        .recycle_timeout(Some(WAIT_TIMEOUT))
        .build()
        .map_err(|e| StoreError::Pool(e.to_string()))
}
