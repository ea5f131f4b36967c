//! The HTTP surface: Confluent's REST subset, one file per resource, assembled here.

pub mod bodies;
pub mod compatibility;
pub mod config;
pub mod filters;
pub mod health;
pub mod recover;
pub mod register;
pub mod reply;
pub mod schemas;
pub mod subjects;

use std::convert::Infallible;

use warp::http::StatusCode;
use warp::Filter;

use crate::store::Store;

/// What a listener lets clients change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Everything: the one listener of a registry without `REGISTRY_ADMIN_ADDR`, or the
    /// admin listener of one with it.
    ReadWrite,
    /// The read listener when writes have their own (`REGISTRY_ADMIN_ADDR`): reads, lookups
    /// and compatibility checks are served; registering a new version and setting levels
    /// are refused with 405. Registering a schema the subject already has is answered with
    /// its id, as the admin listener would (nothing is written): producers whose serializer
    /// registers on first use keep working here once the schemas were registered through
    /// the admin listener (`healthpipe migrate` does it for every event).
    ReadOnly,
}

/// Every route, with Confluent's error bodies for whatever no route accepts. Usable with
/// `warp::serve` and with `warp::test::request()`.
pub fn routes(
    store: Store,
) -> impl Filter<Extract = (impl warp::Reply,), Error = Infallible> + Clone {
    routes_for(store, Access::ReadWrite)
}

/// [`routes`] as the listener with `access` serves them.
pub fn routes_for(
    store: Store,
    access: Access,
) -> impl Filter<Extract = (impl warp::Reply,), Error = Infallible> + Clone {
    let root = warp::path::end()
        .and(warp::get())
        .map(|| reply::json(StatusCode::OK, &serde_json::json!({})));
    root.or(health::routes(store.clone()))
        .unify()
        .or(schemas::routes(store.clone()))
        .unify()
        .or(subjects::routes(store.clone()))
        .unify()
        .or(register::routes(store.clone(), access))
        .unify()
        .or(compatibility::routes(store.clone()))
        .unify()
        .or(config::routes(store, access))
        .unify()
        .recover(recover::rejection)
        .unify()
        .with(warp::log::custom(log_request))
}

/// One event per request, at debug: clients poll (`GET /subjects` health checks, id
/// lookups) and probe endpoints they expect to be missing, so neither success nor 404 is news.
/// Server errors are logged with their cause where they happen; this adds the request line.
fn log_request(info: warp::log::Info<'_>) {
    let status = info.status().as_u16();
    let elapsed_ms = info.elapsed().as_secs_f64() * 1000.0;
    if info.status().is_server_error() {
        tracing::warn!(method = %info.method(), path = info.path(), status, elapsed_ms, "request");
    } else {
        tracing::debug!(method = %info.method(), path = info.path(), status, elapsed_ms, "request");
    }
}
