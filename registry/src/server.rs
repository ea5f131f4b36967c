//! Running the registry as a server: storage first (so a broken database fails before the port
//! is taken), then the listener, then serving until the shutdown future resolves.

use std::future::Future;

use tokio::net::TcpListener;

use crate::api::routes;
use crate::config::RegistryConfig;
use crate::error::RegistryError;
use crate::store::Store;

/// Connects to PostgreSQL (creating the tables if needed), binds `config.addr` and serves until
/// `shutdown` resolves; in-flight requests are allowed to finish.
pub async fn serve(
    config: RegistryConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RegistryError> {
    let store = Store::connect(&config).await?;
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|source| RegistryError::Bind {
            addr: config.addr,
            source,
        })?;
    serve_listener(listener, store, shutdown).await
}

/// Serves on an already bound listener: lets tests and embedders pick port 0 and learn the
/// address before the first request.
pub async fn serve_listener(
    listener: TcpListener,
    store: Store,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RegistryError> {
    let addr = listener
        .local_addr()
        .map_err(|source| RegistryError::Bind {
            addr: ([0, 0, 0, 0], 0).into(),
            source,
        })?;
    tracing::info!(%addr, pg_schema = %store.pg_schema(), "schema registry listening");
    warp::serve(routes(store))
        .incoming(listener)
        .graceful(shutdown)
        .run()
        .await;
    tracing::info!(%addr, "schema registry stopped");
    Ok(())
}
