//! `POST /api/v1/devices/{device_id}/sync`: validate each sample on its own, convert it to
//! its canonical unit, give it a stable id, and append the valid ones to the user's stream;
//! `DELETE /api/v1/samples`: append a deletion. Both are idempotent (see `idempotency`): a
//! retry gets the stored answer and appends nothing.
//!
//! Valid samples are accepted even when others fail; the answer lists every failure by index.
//! The parsing and validation are pure and live in `ingest`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use healthpipe_schemas::{SamplesDeleted, SamplesRecorded, MAX_SAMPLES_PER_EVENT};
use serde::Deserialize;
use uuid::Uuid;
use warp::http::{HeaderMap, HeaderValue, StatusCode};
use warp::reply::Response;

use crate::auth::AuthUser;
use crate::devices;
use crate::error::{parse_object, ApiError};
use crate::idempotency::{self, Claim, Ticket};
use crate::ingest::{parse_sync, ParsedSync};
use crate::metrics;
use crate::AppState;

/// Largest sync body, enforced from Content-Length before the body is read.
pub const MAX_SYNC_BODY_BYTES: u64 = 5 * 1024 * 1024;

/// Role: user. Answers 200 only after Kafka acknowledged every accepted sample.
pub async fn sync(
    state: Arc<AppState>,
    user: AuthUser,
    device_id: Uuid,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let device = devices::find(&state, user.id, device_id).await?;
    let key = idempotency::key_hash(&headers, || {
        format!("sync:{device_id}:{}", idempotency::body_digest(&body))
    })?;
    let request =
        idempotency::request_hash("POST", &format!("/api/v1/devices/{device_id}/sync"), &body);
    let now = Utc::now();
    let user_id = user.id;
    // Up to 5 MiB of JSON and 10,000 validations: CPU work, off the async threads.
    let parsed = tokio::task::spawn_blocking(move || parse_sync(&body, user_id, device.id, now))
        .await
        .map_err(|e| ApiError::Internal(format!("sync parse task: {e}")))??;
    let ticket = match idempotency::claim(&state.db, user_id, key, request, lease(&state)).await? {
        Claim::Replay(stored) => return Ok(stored.into_response()),
        Claim::Owned(ticket) => ticket,
    };
    // Run to the end even if the client hangs up, so the claim is always settled.
    tokio::spawn(append_samples(
        state, ticket, user_id, device.id, parsed, now,
    ))
    .await
    .map_err(|e| ApiError::Internal(format!("sync task: {e}")))?
}

/// How long an unsettled claim blocks a retry: longer than any request can take.
fn lease(state: &AppState) -> Duration {
    state.config.produce_timeout * 2 + Duration::from_secs(30)
}

async fn append_samples(
    state: Arc<AppState>,
    ticket: Ticket,
    user_id: Uuid,
    device_id: Uuid,
    parsed: ParsedSync,
    now: DateTime<Utc>,
) -> Result<Response, ApiError> {
    for rejection in &parsed.rejected {
        metrics::SAMPLES.with_label_values(&[rejection.code]).inc();
    }
    let body = Bytes::from(serde_json::to_vec(&parsed.response()).expect("response serialises"));
    if parsed.all_invalid() {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        ticket.complete(status, &body).await;
        return Ok(json_response(status, body));
    }
    let events: Vec<SamplesRecorded> = parsed
        .accepted
        .chunks(MAX_SAMPLES_PER_EVENT)
        .map(|chunk| SamplesRecorded {
            event_id: Uuid::new_v4().to_string(),
            user_id: user_id.to_string(),
            device_id: device_id.to_string(),
            recorded_at: now.timestamp_micros(),
            samples: chunk.to_vec(),
        })
        .collect();
    let published = async {
        let key = state.data_key(user_id).await?;
        state
            .publisher
            .publish(&user_id.to_string(), &key, &events)
            .await
    };
    if let Err(e) = published.await {
        ticket.release().await;
        return Err(e);
    }
    metrics::SAMPLES
        .with_label_values(&["accepted"])
        .inc_by(parsed.accepted.len() as u64);
    ticket.complete(StatusCode::OK, &body).await;
    Ok(json_response(StatusCode::OK, body))
}

fn json_response(status: StatusCode, body: Bytes) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteSamples {
    pub ids: Vec<String>,
}

/// Most ids one deletion request may carry (about 40 KB of JSON, within the body limit).
pub const MAX_IDS_PER_DELETE: usize = 1_000;

/// Role: user. `DELETE /api/v1/samples`: appends a deletion event; the processors remove
/// the samples and recompute their buckets. Ids of samples the caller does not own (or that
/// do not exist) match nothing downstream, since samples are keyed by user.
pub async fn delete(
    state: Arc<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let parsed: DeleteSamples = parse_object(&body)?;
    if parsed.ids.is_empty() {
        return Err(ApiError::Unprocessable(
            "ids: at least one sample id".into(),
        ));
    }
    if parsed.ids.len() > MAX_IDS_PER_DELETE {
        return Err(ApiError::PayloadTooLarge(format!(
            "{} ids in one request; at most {MAX_IDS_PER_DELETE}",
            parsed.ids.len()
        )));
    }
    let mut ids = Vec::with_capacity(parsed.ids.len());
    for (index, id) in parsed.ids.iter().enumerate() {
        let id = healthpipe_domain::parse_uuid(id).ok_or_else(|| {
            ApiError::Unprocessable(format!("ids[{index}]: {id:?} is not a UUID"))
        })?;
        ids.push(id.to_string());
    }
    let key = idempotency::key_hash(&headers, || {
        format!("delete:{}", idempotency::body_digest(&body))
    })?;
    let request = idempotency::request_hash("DELETE", "/api/v1/samples", &body);
    let ticket = match idempotency::claim(&state.db, user.id, key, request, lease(&state)).await? {
        Claim::Replay(stored) => return Ok(stored.into_response()),
        Claim::Owned(ticket) => ticket,
    };
    let event = SamplesDeleted {
        event_id: Uuid::new_v4().to_string(),
        user_id: user.id.to_string(),
        sample_ids: ids,
        deleted_at: Utc::now().timestamp_micros(),
    };
    tokio::spawn(async move {
        let published = async {
            let key = state.data_key(user.id).await?;
            state
                .publisher
                .publish_one(&event.user_id, &key, &event)
                .await
        };
        if let Err(e) = published.await {
            ticket.release().await;
            return Err(e);
        }
        let body = Bytes::from(
            serde_json::to_vec(&serde_json::json!({"deleted": event.sample_ids.len()}))
                .expect("response serialises"),
        );
        ticket.complete(StatusCode::OK, &body).await;
        Ok(json_response(StatusCode::OK, body))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("delete task: {e}")))?
}
