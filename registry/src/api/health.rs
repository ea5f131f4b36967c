//! `GET /healthz` and `GET /readyz`, as the other services answer them, for the probes of
//! an orchestrator: alive is the process answering; ready is the database answering too.

use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use super::filters::with_store;
use super::reply;
use crate::store::Store;

pub fn routes(store: Store) -> BoxedFilter<(Response,)> {
    let healthz = warp::path!("healthz")
        .and(warp::get())
        .map(|| reply::json(StatusCode::OK, &serde_json::json!({"status": "ok"})));
    let readyz = warp::path!("readyz")
        .and(warp::get())
        .and(with_store(store))
        .then(ready);
    healthz.or(readyz).unify().boxed()
}

/// 200 when a pooled connection runs a statement; 503 otherwise (the cause is logged, not
/// sent).
async fn ready(store: Store) -> Response {
    match store.ping().await {
        Ok(()) => reply::json(StatusCode::OK, &serde_json::json!({"status": "ready"})),
        Err(error) => {
            tracing::warn!(%error, "not ready: the database does not answer");
            reply::json(
                StatusCode::SERVICE_UNAVAILABLE,
                &serde_json::json!({"status": "database unavailable"}),
            )
        }
    }
}
