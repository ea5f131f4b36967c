//! The filter tree. Every route states the role it needs; every body has a length limit;
//! every response carries an `x-request-id`; every error has the same JSON shape.

use std::sync::Arc;
use std::time::Instant;

use uuid::Uuid;
use warp::http::HeaderValue;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::auth::{with_role, with_user};
use crate::error::{recover, respond, ApiError};
use crate::sync::MAX_SYNC_BODY_BYTES;
use crate::{accounts, devices, explain, metrics, query, sync, AppState};

/// Limit for every small JSON body (accounts, devices).
const SMALL_BODY_BYTES: u64 = 64 * 1024;

pub fn routes(
    state: Arc<AppState>,
) -> impl Filter<Extract = (Response,), Error = std::convert::Infallible> + Clone {
    let api = warp::path!("api" / "v1" / ..);
    // Accounts: any signed-in role. Devices and sync: the `user` role only.
    let user = with_user(state.clone());
    let plain_user = with_role(state.clone(), "user");
    let st = warp::any().map(move || state.clone());

    let create_user = warp::post()
        .and(api.and(warp::path!("users")))
        .and(st.clone())
        .and(json_body())
        .and_then(|s, b| async move { respond(accounts::create_user(s, b).await) });
    let create_session = warp::post()
        .and(api.and(warp::path!("sessions")))
        .and(st.clone())
        .and(warp::addr::remote())
        .and(json_body())
        .and_then(|s, a, b| async move { respond(accounts::create_session(s, a, b).await) });
    let delete_session = warp::delete()
        .and(api.and(warp::path!("sessions" / "current")))
        .and(st.clone())
        .and(user.clone())
        .and_then(|s, u| async move { respond(accounts::delete_session(s, u).await) });
    let get_me = warp::get()
        .and(api.and(warp::path!("me")))
        .and(st.clone())
        .and(user.clone())
        .and_then(|s, u| async move { respond(accounts::get_me(s, u).await) });
    let patch_me = warp::patch()
        .and(api.and(warp::path!("me")))
        .and(st.clone())
        .and(user.clone())
        .and(json_body())
        .and_then(|s, u, b| async move { respond(accounts::patch_me(s, u, b).await) });

    let register_device = warp::post()
        .and(api.and(warp::path!("devices")))
        .and(st.clone())
        .and(plain_user.clone())
        .and(json_body())
        .and_then(|s, u, b| async move { respond(devices::register(s, u, b).await) });
    let list_devices = warp::get()
        .and(api.and(warp::path!("devices")))
        .and(st.clone())
        .and(plain_user.clone())
        .and_then(|s, u| async move { respond(devices::list(s, u).await) });
    let patch_device = warp::patch()
        .and(api.and(warp::path!("devices" / Uuid)))
        .and(st.clone())
        .and(plain_user.clone())
        .and(json_body())
        .and_then(|id, s, u, b| async move { respond(devices::patch(s, u, id, b).await) });
    let sync = warp::post()
        .and(api.and(warp::path!("devices" / Uuid / "sync")))
        .and(st.clone())
        .and(plain_user.clone())
        .and(warp::body::content_length_limit(MAX_SYNC_BODY_BYTES))
        .and(warp::body::bytes())
        .and_then(|id, s, u, body| async move { respond(sync::sync(s, u, id, body).await) });

    let delete_samples = warp::delete()
        .and(api.and(warp::path!("samples")))
        .and(st.clone())
        .and(plain_user.clone())
        .and(json_body())
        .and_then(|s, u, b| async move { respond(sync::delete(s, u, b).await) });
    let explain_aggregate = warp::get()
        .and(api.and(warp::path!("aggregates" / "explain")))
        .and(st.clone())
        .and(plain_user.clone())
        .and(warp::query::<std::collections::HashMap<String, String>>())
        .and_then(|s, u, q| async move { respond(explain::explain(s, u, q).await) });
    let aggregates = warp::get()
        .and(api.and(warp::path!("aggregates")))
        .and(st.clone())
        .and(plain_user.clone())
        .and(warp::query::<std::collections::HashMap<String, String>>())
        .and_then(|s, u, q| async move { respond(query::aggregates(s, u, q).await) });

    let healthz = warp::get()
        .and(warp::path!("healthz"))
        .map(|| warp::reply::json(&serde_json::json!({"status": "ok"})).into_response());
    let readyz = warp::get()
        .and(warp::path!("readyz"))
        .and(st.clone())
        .and_then(|s: Arc<AppState>| async move { respond(ready(&s).await) });
    let metrics_route = warp::get()
        .and(warp::path!("metrics"))
        .map(|| metrics::render().into_response());

    // Boxed one by one: a long chain of `or` makes one enormous type that is slow to compile.
    let all = [
        create_user.boxed(),
        create_session.boxed(),
        delete_session.boxed(),
        get_me.boxed(),
        patch_me.boxed(),
        register_device.boxed(),
        list_devices.boxed(),
        patch_device.boxed(),
        sync.boxed(),
        delete_samples.boxed(),
        explain_aggregate.boxed(),
        aggregates.boxed(),
        healthz.boxed(),
        readyz.boxed(),
        metrics_route.boxed(),
    ]
    .into_iter()
    .reduce(|a, b| a.or(b).unify().boxed())
    .expect("at least one route")
    .recover(recover)
    .unify();

    warp::any()
        .map(|| {
            metrics::IN_FLIGHT.inc();
            (Instant::now(), Uuid::new_v4())
        })
        .untuple_one()
        .and(warp::path::full())
        .and(warp::method())
        .and(all)
        .map(instrument)
}

/// Adds the request id, records latency, and logs one structured line per request (route
/// and status only: never bodies, values or tokens).
fn instrument(
    started: Instant,
    request_id: Uuid,
    path: warp::path::FullPath,
    method: warp::http::Method,
    mut response: Response,
) -> Response {
    metrics::IN_FLIGHT.dec();
    let status = response.status().as_u16();
    let route = route_label(path.as_str());
    metrics::REQUEST_SECONDS
        .with_label_values(&[route, &status.to_string()])
        .observe(started.elapsed().as_secs_f64());
    tracing::info!(%request_id, %method, route, status, elapsed_ms = started.elapsed().as_millis() as u64, "request");
    response.headers_mut().insert(
        "x-request-id",
        HeaderValue::from_str(&request_id.to_string()).expect("uuid is a valid header"),
    );
    response
}

/// Bounded route names for metrics and logs (ids replaced by placeholders).
fn route_label(path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["api", "v1", "users"] => "/api/v1/users",
        ["api", "v1", "sessions"] => "/api/v1/sessions",
        ["api", "v1", "sessions", "current"] => "/api/v1/sessions/current",
        ["api", "v1", "me"] => "/api/v1/me",
        ["api", "v1", "devices"] => "/api/v1/devices",
        ["api", "v1", "devices", _] => "/api/v1/devices/{id}",
        ["api", "v1", "devices", _, "sync"] => "/api/v1/devices/{id}/sync",
        ["api", "v1", "aggregates"] => "/api/v1/aggregates",
        ["api", "v1", "aggregates", "explain"] => "/api/v1/aggregates/explain",
        ["api", "v1", "samples"] => "/api/v1/samples",
        ["healthz"] => "/healthz",
        ["readyz"] => "/readyz",
        ["metrics"] => "/metrics",
        _ => "other",
    }
}

/// A JSON body of at most `SMALL_BODY_BYTES`; malformed JSON is a 400 naming the position.
fn json_body<T: serde::de::DeserializeOwned + Send>(
) -> impl Filter<Extract = (T,), Error = Rejection> + Clone {
    warp::body::content_length_limit(SMALL_BODY_BYTES)
        .and(warp::body::bytes())
        .and_then(|bytes: bytes::Bytes| async move {
            serde_json::from_slice::<T>(&bytes).map_err(|e| {
                warp::reject::custom(if e.is_data() {
                    ApiError::Unprocessable(e.to_string())
                } else {
                    ApiError::BadRequest(format!("malformed JSON body: {e}"))
                })
            })
        })
}

async fn ready(state: &AppState) -> Result<Response, ApiError> {
    let db = match state.db.get().await {
        Ok(client) => client.simple_query("SELECT 1").await.is_ok(),
        Err(_) => false,
    };
    let kafka = state.publisher.kafka_reachable().await;
    let registry = state.publisher.registry_reachable().await;
    let body = serde_json::json!({"database": db, "kafka": kafka, "registry": registry});
    if db && kafka && registry {
        Ok(warp::reply::json(&body).into_response())
    } else {
        Ok(warp::reply::with_status(
            warp::reply::json(&body),
            warp::http::StatusCode::SERVICE_UNAVAILABLE,
        )
        .into_response())
    }
}
