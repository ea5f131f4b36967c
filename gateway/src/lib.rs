//! The ingestion gateway. Devices and apps talk to it over HTTP; it validates and normalises
//! what they send and appends immutable events to Kafka. A 200 means "durably in Kafka":
//! every handler that emits events answers only after the broker acknowledged them.
//!
//! Layout: `config` (environment), `error` (the one place errors become HTTP), `auth`
//! (accounts and sessions), `known_sessions` (the sessions a read may start from before
//! their lookup confirms them), `devices` (the device registry), `sync` (sample ingestion),
//! `ingest` (pure parsing and validation of sync bodies), `idempotency` (stored answers of
//! retried appends), `outbox` (account and device events committed with their rows and
//! appended after), `publisher` (Kafka + schema registry), `query` (the read side over the
//! projections: aggregates, samples with their counted fractions, the daily summary),
//! `explain` (one bucket's samples and why they counted), `insights` (the user's insights and
//! their acknowledgement), `routes` (the warp filter tree and the OpenAPI document,
//! `openapi.json`), `web` (the web app's page and files, served at `/`), `metrics`.
//!
//! No SQL lives here: every statement is a function of `healthpipe_storage` (`accounts` for
//! the gateway's own rows, `reads` for the projections), whose failures become HTTP in
//! `error` alone. Handlers parse, build the domain values, call the store, publish.

mod accounts;
mod applied;
mod auth;
mod config;
mod devices;
mod error;
mod explain;
mod export;
mod idempotency;
pub mod imports;
mod ingest;
mod insights;
mod known_sessions;
mod links;
mod login_guard;
mod metrics;
mod outbox;
pub mod providers;
mod publisher;
mod query;
mod routes;
mod shared;
mod shares;
mod sync;
mod web;

use healthpipe_crypto::{DataKey, KeyProvider, LocalKeyProvider};
use std::future::Future;
use std::sync::Arc;

pub use config::{GatewayConfig, ImportSettings};
pub use error::ApiError;
pub use error::GatewayError;
pub use ingest::ClientSample;
pub use publisher::Publisher;
pub use routes::OPENAPI_JSON;

/// What every handler can reach.
pub struct AppState {
    pub config: GatewayConfig,
    pub db: healthpipe_storage::Pool,
    pub publisher: Publisher,
    /// Permits for password hashing (see `auth::hash_password`).
    pub password_hashing: tokio::sync::Semaphore,
    /// Wraps and unwraps the users' data keys (see `healthpipe_crypto`).
    pub keys: Arc<dyn KeyProvider>,
    /// The sessions looked up so far, which a read starts from (see `known_sessions`).
    pub sessions: known_sessions::KnownSessions,
}

/// Binds `config.addr` and serves until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    config: GatewayConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), GatewayError> {
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| GatewayError::Bind(config.addr, e))?;
    let state = Arc::new(AppState::connect(config).await?);
    serve_listener(listener, state, shutdown).await
}

/// Serves on an already bound listener, so tests can bind port 0 and learn the address.
pub async fn serve_listener(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), GatewayError> {
    let addr = listener
        .local_addr()
        .map_err(|e| GatewayError::Bind(state.config.addr, e))?;
    tracing::info!(%addr, "gateway listening");
    imports::remove_left_overs(&state.config.imports);
    let relay = tokio::spawn(outbox::relay(state.clone()));
    warp::serve(routes::routes(state))
        .incoming(listener)
        .graceful(shutdown)
        .run()
        .await;
    relay.abort();
    Ok(())
}

impl AppState {
    pub async fn connect(config: GatewayConfig) -> Result<Self, GatewayError> {
        let db = healthpipe_storage::connect(&config.database_url, config.db_pool_size)
            .map_err(|e| GatewayError::Config(e.to_string()))?;
        let publisher = Publisher::new(&config)?;
        let password_hashing = tokio::sync::Semaphore::new(config.password_hashes);
        let spec = config.keys.spec().map_err(GatewayError::Config)?;
        let keys =
            LocalKeyProvider::parse(&spec).map_err(|e| GatewayError::Config(e.to_string()))?;
        Ok(Self {
            config,
            db,
            publisher,
            password_hashing,
            keys: Arc::new(keys),
            sessions: known_sessions::KnownSessions::default(),
        })
    }

    /// The user's data key, to seal an event about them with (created for an account that
    /// predates encryption).
    pub async fn data_key(&self, user: uuid::Uuid) -> Result<DataKey, error::ApiError> {
        let db = self.db.get().await?;
        Ok(
            healthpipe_storage::accounts::keys::get_or_create(&db, self.keys.as_ref(), user)
                .await?,
        )
    }

    /// The user's data key if there is one, never made: for a read that runs before its
    /// session is confirmed (`query::Reader::first`), which must not give an erased user a
    /// key again.
    pub async fn stored_data_key(
        &self,
        user: uuid::Uuid,
    ) -> Result<Option<DataKey>, error::ApiError> {
        let db = self.db.get().await?;
        Ok(healthpipe_storage::accounts::keys::get(&db, self.keys.as_ref(), user).await?)
    }
}
