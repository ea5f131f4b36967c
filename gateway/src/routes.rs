//! The filter tree. Every route states the role it needs; every body has a length limit;
//! every response carries an `x-request-id`; every error has the same JSON shape.

use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;

use healthpipe_domain::Role;
use uuid::Uuid;
use warp::filters::BoxedFilter;
use warp::http::HeaderValue;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::auth::{with_reader, with_role, with_user};
use crate::error::{parse_object, recover, respond, ApiError, NoRoute};
use crate::sync::MAX_SYNC_BODY_BYTES;
use crate::{
    accounts, devices, explain, export, imports, insights, links, metrics, query, shared, shares,
    sync, web, AppState,
};

/// Limit for every small JSON body (accounts, devices, sample deletions).
pub const SMALL_BODY_BYTES: u64 = 64 * 1024;

/// The OpenAPI 3 document of this API, kept next to the code it describes.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// Every path of the API (ids as `{id}`, as in metrics labels) and the methods it has, for the
/// `Allow` header of a 405.
const ROUTE_TABLE: &[(&str, &str)] = &[
    ("/api/v1/users", "POST"),
    ("/api/v1/sessions", "POST"),
    ("/api/v1/sessions/current", "DELETE"),
    ("/api/v1/me", "GET, PATCH, DELETE"),
    ("/api/v1/me/export", "GET"),
    ("/api/v1/devices", "GET, POST"),
    ("/api/v1/devices/{id}", "PATCH"),
    ("/api/v1/devices/{id}/sync", "POST"),
    ("/api/v1/samples", "GET, DELETE"),
    ("/api/v1/aggregates", "GET"),
    ("/api/v1/aggregates/explain", "GET"),
    ("/api/v1/summary", "GET"),
    ("/api/v1/insights", "GET"),
    ("/api/v1/insights/{id}/acknowledge", "POST"),
    ("/api/v1/imports", "GET"),
    ("/api/v1/imports/{id}", "GET"),
    ("/api/v1/imports/apple-health", "POST"),
    ("/api/v1/imports/fitbit", "POST"),
    ("/api/v1/imports/google-fit", "POST"),
    ("/api/v1/imports/withings", "POST"),
    ("/api/v1/imports/ihealth", "POST"),
    ("/api/v1/shares", "GET, POST"),
    ("/api/v1/shares/{id}", "DELETE"),
    ("/api/v1/shares/{id}/access-log", "GET"),
    ("/api/v1/shares/{id}/links", "POST"),
    ("/shl/{id}", "POST"),
    ("/api/v1/shared", "GET"),
    ("/api/v1/shared/redeem", "POST"),
    ("/api/v1/shared/{id}/aggregates", "GET"),
    ("/api/v1/shared/{id}/fhir", "GET"),
    ("/api/v1/openapi.json", "GET"),
    ("/healthz", "GET"),
    ("/readyz", "GET"),
    ("/metrics", "GET"),
];

pub fn routes(
    state: Arc<AppState>,
) -> impl Filter<Extract = (Response,), Error = std::convert::Infallible> + Clone {
    let api = warp::path!("api" / "v1" / ..);
    let body_timeout = state.config.body_read_timeout;
    // Accounts: any signed-in role. Devices and sync: the `user` role only.
    let user = with_user(state.clone());
    let plain_user = with_role(state.clone(), Role::User);
    let reader = with_reader(state.clone(), Role::User);
    let client = client_address(state.clone());
    let st = warp::any().map(move || state.clone());

    let create_user = warp::post()
        .and(api.and(warp::path!("users")))
        .and(st.clone())
        .and(json_body(body_timeout))
        .and_then(|s, b| async move { respond(accounts::create_user(s, b).await) });
    let create_session = warp::post()
        .and(api.and(warp::path!("sessions")))
        .and(st.clone())
        .and(client.clone())
        .and(json_body(body_timeout))
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
        .and(json_body(body_timeout))
        .and_then(|s, u, b| async move { respond(accounts::patch_me(s, u, b).await) });
    let export_me = warp::get()
        .and(api.and(warp::path!("me" / "export")))
        .and(st.clone())
        .and(user.clone())
        .and_then(|s, u| async move { respond(export::export(s, u).await) });
    let delete_me = warp::delete()
        .and(api.and(warp::path!("me")))
        .and(st.clone())
        .and(user.clone())
        .and(json_body(body_timeout))
        .and_then(|s, u, b| async move { respond(accounts::delete_me(s, u, b).await) });

    let register_device = warp::post()
        .and(api.and(warp::path!("devices")))
        .and(st.clone())
        .and(plain_user.clone())
        .and(json_body(body_timeout))
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
        .and(json_body(body_timeout))
        .and_then(|id, s, u, b| async move { respond(devices::patch(s, u, id, b).await) });
    let sync = warp::post()
        .and(api.and(warp::path!("devices" / Uuid / "sync")))
        .and(st.clone())
        .and(plain_user.clone())
        .and(warp::header::headers_cloned())
        .and(body(MAX_SYNC_BODY_BYTES, body_timeout))
        .and_then(|id, s, u, h, body| async move { respond(sync::sync(s, u, id, h, body).await) });

    let delete_samples = warp::delete()
        .and(api.and(warp::path!("samples")))
        .and(st.clone())
        .and(plain_user.clone())
        .and(warp::header::headers_cloned())
        .and(body(SMALL_BODY_BYTES, body_timeout))
        .and_then(|s, u, h, b| async move { respond(sync::delete(s, u, h, b).await) });
    // The read endpoints: a GET of the `user` role answered from the query string, which
    // may start from a remembered session (see `query::read`).
    let read = |path: BoxedFilter<()>| {
        warp::get()
            .and(path)
            .and(st.clone())
            .and(reader.clone())
            .and(warp::query::<query::Params>())
    };
    let explain_aggregate = read(api.and(warp::path!("aggregates" / "explain")).boxed())
        .and_then(|s, u, q| async move { respond(query::read(s, u, q, explain::explain).await) });
    let aggregates = read(api.and(warp::path!("aggregates")).boxed())
        .and_then(|s, u, q| async move { respond(query::read(s, u, q, query::aggregates).await) });
    let samples = read(api.and(warp::path!("samples")).boxed())
        .and_then(|s, u, q| async move { respond(query::read(s, u, q, query::samples).await) });
    let summary = read(api.and(warp::path!("summary")).boxed())
        .and_then(|s, u, q| async move { respond(query::read(s, u, q, query::summary).await) });
    let list_insights = read(api.and(warp::path!("insights")).boxed())
        .and_then(|s, u, q| async move { respond(query::read(s, u, q, insights::list).await) });
    // The id as a plain segment: a malformed one is the same 404 as an unknown one.
    let acknowledge_insight = warp::post()
        .and(api.and(warp::path!("insights" / String / "acknowledge")))
        .and(st.clone())
        .and(plain_user.clone())
        .and_then(|id, s, u| async move { respond(insights::acknowledge(s, u, id).await) });

    // Imports: the export is the body, streamed to a file (not read into memory).
    let create_import = warp::post()
        .and(api.and(warp::path!("imports" / String)))
        .and(st.clone())
        .and(plain_user.clone())
        .and(warp::header::optional::<u64>("content-length"))
        .and(warp::body::stream())
        .and_then(|source, s, u, length, body| async move {
            respond(imports::create(s, u, source, length, Box::pin(body)).await)
        });
    let get_import = warp::get()
        .and(api.and(warp::path!("imports" / Uuid)))
        .and(st.clone())
        .and(plain_user.clone())
        .and_then(|id, s, u| async move { respond(imports::get(s, u, id).await) });
    let list_imports = warp::get()
        .and(api.and(warp::path!("imports")))
        .and(st.clone())
        .and(plain_user.clone())
        .and_then(|s, u| async move { respond(imports::list(s, u).await) });

    // Sharing: the owner's side (role user), then the clinician's (role provider, checked in
    // the handler so that a refusal is recorded in the access log).
    let create_share = warp::post()
        .and(api.and(warp::path!("shares")))
        .and(st.clone())
        .and(plain_user.clone())
        .and(json_body(body_timeout))
        .and_then(|s, u, b| async move { respond(shares::create(s, u, b).await) });
    let list_shares = warp::get()
        .and(api.and(warp::path!("shares")))
        .and(st.clone())
        .and(plain_user.clone())
        .and_then(|s, u| async move { respond(shares::list(s, u).await) });
    let revoke_share = warp::delete()
        .and(api.and(warp::path!("shares" / Uuid)))
        .and(st.clone())
        .and(plain_user.clone())
        .and_then(|id, s, u| async move { respond(shares::revoke(s, u, id).await) });
    let share_access_log = warp::get()
        .and(api.and(warp::path!("shares" / Uuid / "access-log")))
        .and(st.clone())
        .and(plain_user.clone())
        .and_then(|id, s, u| async move { respond(shares::access_log(s, u, id).await) });
    let create_link = warp::post()
        .and(api.and(warp::path!("shares" / Uuid / "links")))
        .and(st.clone())
        .and(plain_user.clone())
        .and(json_body(body_timeout))
        .and_then(|id, s, u, b| async move { respond(links::create(s, u, id, b).await) });
    // Role: none. The link is the credential (a viewer without an account).
    let open_link = warp::post()
        .and(warp::path!("shl" / String))
        .and(st.clone())
        .and(client.clone())
        .and(json_body(body_timeout))
        .and_then(|id, s, a, b| async move { respond(links::manifest(s, a, id, b).await) });
    let redeem_share = warp::post()
        .and(api.and(warp::path!("shared" / "redeem")))
        .and(st.clone())
        .and(user.clone())
        .and(client.clone())
        .and(json_body(body_timeout))
        .and_then(|s, u, a, b| async move { respond(shared::redeem(s, u, a, b).await) });
    let list_shared = warp::get()
        .and(api.and(warp::path!("shared")))
        .and(st.clone())
        .and(user.clone())
        .and(client.clone())
        .and_then(|s, u, a| async move { respond(shared::list(s, u, a).await) });
    let shared_aggregates = warp::get()
        .and(api.and(warp::path!("shared" / Uuid / "aggregates")))
        .and(st.clone())
        .and(user.clone())
        .and(client.clone())
        .and(warp::query::<query::Params>())
        .and_then(
            |id, s, u, a, q| async move { respond(shared::aggregates(s, u, a, id, q).await) },
        );
    let shared_fhir = warp::get()
        .and(api.and(warp::path!("shared" / Uuid / "fhir")))
        .and(st.clone())
        .and(user.clone())
        .and(client.clone())
        .and(warp::query::<query::Params>())
        .and_then(|id, s, u, a, q| async move { respond(shared::fhir(s, u, a, id, q).await) });

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
    // Role: none. The document is public, like the API's shape it describes.
    let openapi = warp::get()
        .and(api.and(warp::path!("openapi.json")))
        .map(|| warp::reply::with_header(OPENAPI_JSON, "content-type", "application/json"))
        .map(Reply::into_response);

    // Boxed one by one: a long chain of `or` makes one enormous type that is slow to compile.
    let all = [
        create_user.boxed(),
        create_session.boxed(),
        delete_session.boxed(),
        get_me.boxed(),
        patch_me.boxed(),
        delete_me.boxed(),
        export_me.boxed(),
        register_device.boxed(),
        list_devices.boxed(),
        patch_device.boxed(),
        sync.boxed(),
        delete_samples.boxed(),
        explain_aggregate.boxed(),
        aggregates.boxed(),
        samples.boxed(),
        summary.boxed(),
        list_insights.boxed(),
        acknowledge_insight.boxed(),
        create_import.boxed(),
        get_import.boxed(),
        list_imports.boxed(),
        create_share.boxed(),
        list_shares.boxed(),
        revoke_share.boxed(),
        share_access_log.boxed(),
        create_link.boxed(),
        open_link.boxed(),
        redeem_share.boxed(),
        list_shared.boxed(),
        shared_aggregates.boxed(),
        shared_fhir.boxed(),
        healthz.boxed(),
        readyz.boxed(),
        metrics_route.boxed(),
        openapi.boxed(),
        web::routes(),
    ]
    .into_iter()
    .reduce(|a, b| a.or(b).unify().boxed())
    .expect("at least one route")
    .recover(recover)
    .unify();

    warp::any()
        .map(|| (Instant::now(), Uuid::new_v4(), InFlight::start()))
        .untuple_one()
        .and(warp::path::full())
        .and(warp::method())
        .and(all)
        .map(instrument)
}

/// Counts a request in flight until it is answered or dropped (the client went away).
struct InFlight;

impl InFlight {
    fn start() -> Self {
        metrics::IN_FLIGHT.inc();
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::IN_FLIGHT.dec();
    }
}

/// Adds the request id, records latency, and logs one structured line per request (route
/// and status only: never bodies, values or tokens). A request no route took is a 405 with
/// `Allow` when its path exists with other methods, else a 404.
fn instrument(
    started: Instant,
    request_id: Uuid,
    in_flight: InFlight,
    path: warp::path::FullPath,
    method: warp::http::Method,
    mut response: Response,
) -> Response {
    drop(in_flight);
    let route = route_label(path.as_str());
    if response.extensions().get::<NoRoute>().is_some() {
        if let Some(allow) = allowed_methods(route) {
            if !allow.split(", ").any(|m| m == method.as_str()) {
                response = ApiError::MethodNotAllowed {
                    allow: allow.to_string(),
                }
                .into_response();
            }
        }
    }
    let status = response.status().as_u16();
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
        ["api", "v1", "me", "export"] => "/api/v1/me/export",
        ["api", "v1", "devices"] => "/api/v1/devices",
        ["api", "v1", "devices", _] => "/api/v1/devices/{id}",
        ["api", "v1", "devices", _, "sync"] => "/api/v1/devices/{id}/sync",
        ["api", "v1", "aggregates"] => "/api/v1/aggregates",
        ["api", "v1", "aggregates", "explain"] => "/api/v1/aggregates/explain",
        ["api", "v1", "samples"] => "/api/v1/samples",
        ["api", "v1", "summary"] => "/api/v1/summary",
        ["api", "v1", "insights"] => "/api/v1/insights",
        ["api", "v1", "insights", _, "acknowledge"] => "/api/v1/insights/{id}/acknowledge",
        ["api", "v1", "imports"] => "/api/v1/imports",
        // One label per import source (the connectors'; a test holds them together).
        ["api", "v1", "imports", "apple-health"] => "/api/v1/imports/apple-health",
        ["api", "v1", "imports", "fitbit"] => "/api/v1/imports/fitbit",
        ["api", "v1", "imports", "google-fit"] => "/api/v1/imports/google-fit",
        ["api", "v1", "imports", "withings"] => "/api/v1/imports/withings",
        ["api", "v1", "imports", "ihealth"] => "/api/v1/imports/ihealth",
        ["api", "v1", "imports", _] => "/api/v1/imports/{id}",
        ["api", "v1", "shares"] => "/api/v1/shares",
        ["api", "v1", "shares", _] => "/api/v1/shares/{id}",
        ["api", "v1", "shares", _, "access-log"] => "/api/v1/shares/{id}/access-log",
        ["api", "v1", "shares", _, "links"] => "/api/v1/shares/{id}/links",
        ["shl", _] => "/shl/{id}",
        ["api", "v1", "shared"] => "/api/v1/shared",
        ["api", "v1", "shared", "redeem"] => "/api/v1/shared/redeem",
        ["api", "v1", "shared", _, "aggregates"] => "/api/v1/shared/{id}/aggregates",
        ["api", "v1", "shared", _, "fhir"] => "/api/v1/shared/{id}/fhir",
        ["api", "v1", "openapi.json"] => "/api/v1/openapi.json",
        ["healthz"] => "/healthz",
        ["readyz"] => "/readyz",
        ["metrics"] => "/metrics",
        [""] => "/",
        ["app", ..] => "/app/{file}",
        _ => "other",
    }
}

/// The methods `route` (a label of `route_label`) has, as an `Allow` header value.
fn allowed_methods(route: &str) -> Option<&'static str> {
    ROUTE_TABLE
        .iter()
        .chain(web::ROUTE_TABLE)
        .find(|(path, _)| *path == route)
        .map(|(_, methods)| *methods)
}

/// A JSON body of at most `SMALL_BODY_BYTES`; malformed JSON is a 400 naming the position.
fn json_body<T: serde::de::DeserializeOwned + Send>(
    timeout: Duration,
) -> impl Filter<Extract = (T,), Error = Rejection> + Clone {
    body(SMALL_BODY_BYTES, timeout).and_then(|bytes: bytes::Bytes| async move {
        parse_object::<T>(&bytes).map_err(warp::reject::custom)
    })
}

/// The request body, at most `limit` bytes, read within `timeout`: a client that sends its
/// body slowly, or stops halfway, gets a 408 and the connection is freed, instead of holding
/// a connection and a task for as long as it likes.
fn body(
    limit: u64,
    timeout: Duration,
) -> impl Filter<Extract = (bytes::Bytes,), Error = Rejection> + Clone {
    warp::body::content_length_limit(limit)
        .and(warp::body::stream())
        .and_then(move |stream| async move {
            tokio::time::timeout(timeout, read_body(stream))
                .await
                .unwrap_or_else(|_| {
                    Err(ApiError::RequestTimeout(format!(
                        "the request body did not arrive within {} s; nothing was stored",
                        timeout.as_secs()
                    )))
                })
                .map_err(warp::reject::custom)
        })
}

async fn read_body<S, B>(stream: S) -> Result<bytes::Bytes, ApiError>
where
    S: futures::Stream<Item = Result<B, warp::Error>>,
    B: bytes::Buf,
{
    use bytes::BufMut;
    use futures::StreamExt;
    let mut stream = std::pin::pin!(stream);
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::BadRequest(format!("the body could not be read: {e}")))?;
        body.put(chunk);
    }
    Ok(body.freeze())
}

/// Ready when this pod can serve: the database answers within the probe's budget and the
/// Kafka producer is usable (read from its state, no round trip; see
/// `Publisher::kafka_healthy`). The schema registry is not asked: encoders keep the schema
/// ids they learned, reads never need it, and one registry blip must not take every pod out
/// of service.
async fn ready(state: &AppState) -> Result<Response, ApiError> {
    let db = tokio::time::timeout(READINESS_BUDGET, async {
        match state.db.get().await {
            Ok(client) => healthpipe_storage::reads::ping(&client).await.is_ok(),
            Err(_) => false,
        }
    })
    .await
    .unwrap_or(false);
    let kafka = state.publisher.kafka_healthy();
    let body = serde_json::json!({"database": db, "kafka": kafka});
    let status = if db && kafka {
        warp::http::StatusCode::OK
    } else {
        warp::http::StatusCode::SERVICE_UNAVAILABLE
    };
    Ok(warp::reply::with_status(warp::reply::json(&body), status).into_response())
}

/// How long readiness waits for the database: under Kubernetes' default probe timeout (1 s).
const READINESS_BUDGET: Duration = Duration::from_millis(800);

/// The client's address (see [`crate::login_guard::client_address`]).
fn client_address(
    state: Arc<AppState>,
) -> impl Filter<Extract = (Option<std::net::IpAddr>,), Error = Rejection> + Clone {
    warp::addr::remote()
        .and(warp::header::optional::<String>("x-forwarded-for"))
        .map(move |peer, forwarded: Option<String>| {
            crate::login_guard::client_address(
                peer,
                forwarded.as_deref(),
                &state.config.trusted_proxies,
            )
        })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;

    fn document() -> Value {
        serde_json::from_str(OPENAPI_JSON).expect("openapi.json is JSON")
    }

    /// Every route of the table is in the document with exactly its methods, and back.
    #[test]
    fn the_document_describes_every_route_and_method() {
        let doc = document();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .map(move |m| (path.clone(), m.to_uppercase()))
            })
            .collect();
        let routed: BTreeSet<(String, String)> = ROUTE_TABLE
            .iter()
            .flat_map(|(path, methods)| {
                methods
                    .split(", ")
                    .map(move |m| (path.to_string(), m.to_string()))
            })
            .collect();
        assert_eq!(documented, routed);
        for (path, _) in ROUTE_TABLE {
            let concrete = path.replace("{id}", "0b7c6d0e-2f1a-4b3c-8d9e-0f1a2b3c4d5e");
            assert_eq!(route_label(&concrete), *path);
        }
    }

    /// Every import source has its route, and nothing else does.
    #[test]
    fn every_connector_has_an_import_route() {
        let routed: BTreeSet<&str> = ROUTE_TABLE
            .iter()
            .filter_map(|(path, _)| path.strip_prefix("/api/v1/imports/"))
            .filter(|rest| *rest != "{id}")
            .collect();
        let connectors: BTreeSet<&str> = healthpipe_importer::connectors()
            .iter()
            .map(|c| c.name())
            .collect();
        assert_eq!(routed, connectors);
    }

    /// The enums of the document are the ones the code accepts.
    #[test]
    fn the_documents_enums_match_the_code() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        let strings = |v: &Value| -> BTreeSet<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect()
        };
        let zones: BTreeSet<String> = chrono_tz::TZ_VARIANTS
            .iter()
            .map(|tz| tz.name().to_string())
            .collect();
        assert_eq!(strings(&schemas["TimeZone"]["enum"]), zones);
        let types: BTreeSet<String> = healthpipe_domain::SampleType::all()
            .map(|t| t.as_str().to_string())
            .collect();
        assert_eq!(strings(&schemas["SampleType"]["enum"]), types);
        let sync = &schemas["SyncRequest"]["properties"]["samples"];
        assert_eq!(
            sync["maxItems"].as_u64(),
            Some(crate::ingest::MAX_SAMPLES_PER_SYNC as u64)
        );
        let ids = &schemas["DeleteSamples"]["properties"]["ids"];
        assert_eq!(
            ids["maxItems"].as_u64(),
            Some(crate::sync::MAX_IDS_PER_DELETE as u64)
        );
    }

    /// Every date or time query parameter states its shape, so an empty value (`from=`) or
    /// any other non-date breaks the document and not only the handler.
    #[test]
    fn date_parameters_refuse_what_is_not_a_date() {
        let doc = document();
        let mut seen = 0;
        for item in doc["paths"].as_object().unwrap().values() {
            for operation in item.as_object().unwrap().values() {
                let Some(parameters) = operation["parameters"].as_array() else {
                    continue;
                };
                for p in parameters {
                    let name = p["name"].as_str().unwrap();
                    if !["from", "to", "period_start", "date"].contains(&name) {
                        continue;
                    }
                    seen += 1;
                    let pattern = p["schema"]["pattern"]
                        .as_str()
                        .unwrap_or_else(|| panic!("{name} has no pattern"));
                    let re = regex_lite::Regex::new(pattern).unwrap();
                    for bad in ["", " ", "yesterday", "2026-10-20'--", "10/20/2026"] {
                        assert!(!re.is_match(bad), "{name} accepts {bad:?}");
                    }
                    let good = if name == "period_start" {
                        "2026-10-20T00:00:00+02:00"
                    } else {
                        "2026-10-20"
                    };
                    assert!(re.is_match(good), "{name} refuses {good}");
                }
            }
        }
        assert!(seen >= 6, "only {seen} date parameters found");
    }

    /// Every operation states its role, and only the public ones drop the bearer scheme.
    #[test]
    fn every_operation_states_its_role() {
        let doc = document();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let description = op["description"].as_str().unwrap();
                assert!(description.contains("Role: "), "{method} {path}");
                let public = description.contains("Role: none.");
                assert_eq!(
                    op.get("security") == Some(&Value::Array(vec![])),
                    public,
                    "{method} {path}"
                );
            }
        }
    }
}
