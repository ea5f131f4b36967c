//! The HTTP surface: Confluent's REST subset, one file per resource, assembled here.

pub mod bodies;
pub mod compatibility;
pub mod config;
pub mod filters;
pub mod recover;
pub mod register;
pub mod reply;
pub mod schemas;
pub mod subjects;

use std::convert::Infallible;

use warp::http::StatusCode;
use warp::Filter;

use crate::store::Store;

/// Every route, with Confluent's error bodies for whatever no route accepts. Usable with
/// `warp::serve` and with `warp::test::request()`.
pub fn routes(
    store: Store,
) -> impl Filter<Extract = (impl warp::Reply,), Error = Infallible> + Clone {
    let root = warp::path::end()
        .and(warp::get())
        .map(|| reply::json(StatusCode::OK, &serde_json::json!({})));
    root.or(schemas::routes(store.clone()))
        .unify()
        .or(subjects::routes(store.clone()))
        .unify()
        .or(register::routes(store.clone()))
        .unify()
        .or(compatibility::routes(store.clone()))
        .unify()
        .or(config::routes(store))
        .unify()
        .recover(recover::rejection)
        .unify()
        .with(warp::trace::request())
}
