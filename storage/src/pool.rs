//! The connection pool, built one way for every service.

use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod};

use crate::StoreError;

pub use deadpool_postgres::{Client, Pool, Transaction};

/// A pool of at most `size` connections to `url` (a libpq URL or key=value string).
///
/// `RecyclingMethod::Fast` skips a round trip per checkout; a connection that died is found
/// by the statement that uses it, which then fails as [`StoreError::Unavailable`] and is
/// retried by the caller.
pub fn connect(url: &str, size: usize) -> Result<Pool, StoreError> {
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| StoreError::Pool(format!("DATABASE_URL does not parse: {e}")))?;
    let manager = Manager::from_config(
        config,
        tokio_postgres::NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .build()
        .map_err(|e| StoreError::Pool(e.to_string()))
}
