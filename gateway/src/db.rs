//! The connection pool.

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};

use crate::error::GatewayError;

pub fn pool(url: &str, size: usize) -> Result<Pool, GatewayError> {
    let pg: tokio_postgres::Config = url
        .parse()
        .map_err(|e| GatewayError::Config(format!("DATABASE_URL: {e}")))?;
    let manager = Manager::from_config(
        pg,
        tokio_postgres::NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .build()
        .map_err(|e| GatewayError::Config(format!("database pool: {e}")))
}
