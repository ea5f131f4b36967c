//! Running the registry as a server: storage first (so a broken database fails before the port
//! is taken), then the listeners, then serving until the shutdown future resolves.

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::{routes_for, Access};
use crate::config::RegistryConfig;
use crate::error::RegistryError;
use crate::store::Store;

/// Connects to PostgreSQL (creating the tables if needed), binds `config.addr` (and
/// `config.admin_addr` when set) and serves until `shutdown` resolves; in-flight requests
/// are allowed to finish.
pub async fn serve(
    config: RegistryConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RegistryError> {
    let store = Store::connect(&config).await?;
    let listener = bind(config.addr).await?;
    match config.admin_addr {
        None => serve_listener(listener, store, shutdown).await,
        Some(admin_addr) => {
            let admin = bind(admin_addr).await?;
            serve_split(listener, admin, store, shutdown).await
        }
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, RegistryError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| RegistryError::Bind { addr, source })
}

/// Serves everything on an already bound listener: lets tests and embedders pick port 0 and
/// learn the address before the first request.
pub async fn serve_listener(
    listener: TcpListener,
    store: Store,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RegistryError> {
    run(listener, store, Access::ReadWrite, shutdown).await
}

/// Serves reads on `read` and everything on `admin` (see [`Access`]), until `shutdown`.
pub async fn serve_split(
    read: TcpListener,
    admin: TcpListener,
    store: Store,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RegistryError> {
    // One shutdown for both servers.
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let when_stopped = |mut stopped: watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let (read, admin) = tokio::join!(
        run(
            read,
            store.clone(),
            Access::ReadOnly,
            when_stopped(stopped.clone())
        ),
        run(admin, store, Access::ReadWrite, when_stopped(stopped)),
    );
    read.and(admin)
}

async fn run(
    listener: TcpListener,
    store: Store,
    access: Access,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RegistryError> {
    let addr = listener
        .local_addr()
        .map_err(|source| RegistryError::Bind {
            addr: ([0, 0, 0, 0], 0).into(),
            source,
        })?;
    tracing::info!(%addr, ?access, pg_schema = %store.pg_schema(), "schema registry listening");
    warp::serve(routes_for(store, access))
        .incoming(listener)
        .graceful(shutdown)
        .run()
        .await;
    tracing::info!(%addr, "schema registry stopped");
    Ok(())
}
