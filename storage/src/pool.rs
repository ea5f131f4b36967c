//! The connection pool, built one way for every service.

use std::path::Path;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod, Runtime};
use postgres_native_tls::MakeTlsConnector;

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

/// The TLS side of every connection to PostgreSQL. Whether TLS is used is the URL's
/// `sslmode` (`disable`, `prefer`, the default, or `require`), as with libpq. The server's
/// certificate is verified, with its host name, against `PGSSLROOTCERT` (libpq's variable:
/// a PEM file of the CA, or of the self-signed certificate itself) when that is set, as
/// libpq's `verify-full`; without it the connection is encrypted but the certificate is not
/// checked, as libpq's `require`.
pub fn tls() -> Result<MakeTlsConnector, StoreError> {
    tls_trusting(std::env::var_os("PGSSLROOTCERT").as_deref().map(Path::new))
}

/// [`tls`] with the trusted certificate named by the caller instead of `PGSSLROOTCERT`
/// (`None`: encrypted, certificate not checked).
pub fn tls_trusting(root: Option<&Path>) -> Result<MakeTlsConnector, StoreError> {
    let mut builder = native_tls::TlsConnector::builder();
    match root {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| {
                StoreError::Pool(format!("PGSSLROOTCERT {}: {e}", path.to_string_lossy()))
            })?;
            let ca = native_tls::Certificate::from_pem(&pem).map_err(|e| {
                StoreError::Pool(format!("PGSSLROOTCERT is not a PEM certificate: {e}"))
            })?;
            builder.add_root_certificate(ca);
        }
        None => {
            builder.danger_accept_invalid_certs(true);
        }
    }
    let connector = builder
        .build()
        .map_err(|e| StoreError::Pool(format!("TLS: {e}")))?;
    Ok(MakeTlsConnector::new(connector))
}

/// A pool of at most `size` connections to `url` (a libpq URL or key=value string), over TLS
/// unless the URL sets `sslmode` otherwise (see [`tls`]).
///
/// `RecyclingMethod::Fast` skips a round trip per checkout; a connection that died is found
/// by the statement that uses it, which then fails as [`StoreError::Unavailable`] and is
/// retried by the caller.
pub fn connect(url: &str, size: usize) -> Result<Pool, StoreError> {
    connect_with(url, size, tls()?)
}

/// [`connect`] through the given TLS connector (see [`tls_trusting`]).
pub fn connect_with(url: &str, size: usize, tls: MakeTlsConnector) -> Result<Pool, StoreError> {
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| StoreError::Pool(format!("DATABASE_URL does not parse: {e}")))?;
    config.connect_timeout(WAIT_TIMEOUT);
    // Health data does not cross a network in clear unless the URL says so (`sslmode=disable`).
    if !url.contains("sslmode") {
        config.ssl_mode(tokio_postgres::config::SslMode::Require);
    }
    if config.get_options().is_none() {
        config.options(format!(
            "-c statement_timeout={}",
            STATEMENT_TIMEOUT.as_millis()
        ));
    }
    let manager = Manager::from_config(
        config,
        tls,
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
