//! `POST /api/v1/devices/{device_id}/sync`: validate each sample on its own, convert it to
//! its canonical unit, give it a stable id, and append the valid ones to the user's stream.
//! Valid samples are accepted even when others fail; the answer lists every failure by index.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, FixedOffset, Utc};
use healthpipe_domain::{validate, RawSample, ValidSample};
use healthpipe_schemas::{Sample, SamplesDeleted, SamplesRecorded, MAX_SAMPLES_PER_EVENT};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use warp::Reply;

use crate::auth::AuthUser;
use crate::devices;
use crate::error::ApiError;
use crate::metrics;
use crate::AppState;

/// Most samples one sync may carry; larger uploads must be split by the client.
pub const MAX_SAMPLES_PER_SYNC: usize = 10_000;
/// Largest sync body, enforced from Content-Length before the body is read.
pub const MAX_SYNC_BODY_BYTES: u64 = 5 * 1024 * 1024;

/// Namespace of the UUIDv5 sample ids derived when the client sends none.
const SAMPLE_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6b1f_2c4e_8d0a_4f57_9a3e_54c1_d2b7_a901);

#[derive(Debug, Deserialize)]
struct SyncBody {
    samples: Vec<serde_json::Value>,
}

/// One sample as the client sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientSample {
    id: Option<String>,
    #[serde(rename = "type")]
    sample_type: String,
    value: f64,
    unit: String,
    start_date: DateTime<FixedOffset>,
    end_date: DateTime<FixedOffset>,
    source_app: Option<String>,
    #[serde(default)]
    metadata: HashMap<String, serde_json::Value>,
}

#[derive(Debug, Serialize)]
pub struct SyncResponse {
    pub synced: usize,
    pub errors: usize,
    pub error_details: Vec<SampleError>,
}

#[derive(Debug, Serialize)]
pub struct SampleError {
    pub index: usize,
    pub error: String,
}

/// Role: user. Answers 200 only after Kafka acknowledged every accepted sample.
pub async fn sync(
    state: Arc<AppState>,
    user: AuthUser,
    device_id: Uuid,
    body: Bytes,
) -> Result<impl Reply, ApiError> {
    let device = devices::find(&state, user.id, device_id).await?;
    let parsed: SyncBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("malformed JSON body: {e}")))?;
    if parsed.samples.len() > MAX_SAMPLES_PER_SYNC {
        return Err(ApiError::PayloadTooLarge(format!(
            "{} samples in one sync; at most {MAX_SAMPLES_PER_SYNC}",
            parsed.samples.len()
        )));
    }
    let now = Utc::now();
    let mut accepted = Vec::with_capacity(parsed.samples.len());
    let mut error_details = Vec::new();
    for (index, raw) in parsed.samples.into_iter().enumerate() {
        match to_event_sample(raw, user.id, device.id, now) {
            Ok(sample) => accepted.push(sample),
            Err(error) => error_details.push(SampleError { index, error }),
        }
    }
    let response = SyncResponse {
        synced: accepted.len(),
        errors: error_details.len(),
        error_details,
    };
    metrics::SAMPLES
        .with_label_values(&["rejected"])
        .inc_by(response.errors as u64);
    if accepted.is_empty() && response.errors > 0 {
        return Err(ApiError::UnprocessableBody(
            serde_json::to_value(&response).expect("response serialises"),
        ));
    }
    let events: Vec<SamplesRecorded> = accepted
        .chunks(MAX_SAMPLES_PER_EVENT)
        .map(|chunk| SamplesRecorded {
            event_id: Uuid::new_v4().to_string(),
            user_id: user.id.to_string(),
            device_id: device.id.to_string(),
            recorded_at: now.timestamp_micros(),
            samples: chunk.to_vec(),
        })
        .collect();
    state
        .publisher
        .publish(&user.id.to_string(), &events)
        .await?;
    metrics::SAMPLES
        .with_label_values(&["accepted"])
        .inc_by(response.synced as u64);
    Ok(warp::reply::json(&response))
}

/// Parses, validates and normalises one sample; the error text goes back to the client.
fn to_event_sample(
    raw: serde_json::Value,
    user_id: Uuid,
    device_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Sample, String> {
    let client: ClientSample = serde_json::from_value(raw).map_err(|e| e.to_string())?;
    let valid: ValidSample = validate(
        &RawSample {
            sample_type: &client.sample_type,
            value: client.value,
            unit: &client.unit,
            start: client.start_date,
            end: client.end_date,
        },
        now,
    )
    .map_err(|e| e.to_string())?;
    let sample_id = match &client.id {
        Some(id) => Uuid::parse_str(id).map_err(|_| format!("id: {id:?} is not a UUID"))?,
        None => derived_id(user_id, device_id, &valid),
    };
    let metadata: HashMap<String, String> = client
        .metadata
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect();
    let sync_identifier = ["sync_identifier", "HKMetadataKeySyncIdentifier"]
        .iter()
        .find_map(|k| metadata.get(*k).cloned());
    let sync_version = ["sync_version", "HKMetadataKeySyncVersion"]
        .iter()
        .find_map(|k| metadata.get(*k))
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| format!("metadata.sync_version: {v:?} is not an integer"))
        })
        .transpose()?;
    Ok(Sample {
        sample_id: sample_id.to_string(),
        sample_type: valid.sample_type().as_str().to_string(),
        value: valid.value(),
        unit: valid.sample_type().canonical_unit().symbol().to_string(),
        start_time: valid.start().timestamp_micros(),
        end_time: valid.end().timestamp_micros(),
        utc_offset_seconds: valid.start_utc_offset_secs(),
        source_app: client.source_app,
        sync_identifier,
        sync_version,
        metadata,
    })
}

/// The same measurement re-sent without an id gets the same id, so it is counted once.
fn derived_id(user_id: Uuid, device_id: Uuid, s: &ValidSample) -> Uuid {
    let name = format!(
        "{user_id}|{device_id}|{}|{}|{}|{}",
        s.sample_type().as_str(),
        s.start().timestamp_micros(),
        s.end().timestamp_micros(),
        s.value().to_bits()
    );
    Uuid::new_v5(&SAMPLE_ID_NAMESPACE, name.as_bytes())
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
    body: DeleteSamples,
) -> Result<impl Reply, ApiError> {
    if body.ids.is_empty() {
        return Err(ApiError::Unprocessable(
            "ids: at least one sample id".into(),
        ));
    }
    if body.ids.len() > MAX_IDS_PER_DELETE {
        return Err(ApiError::PayloadTooLarge(format!(
            "{} ids in one request; at most {MAX_IDS_PER_DELETE}",
            body.ids.len()
        )));
    }
    let mut ids = Vec::with_capacity(body.ids.len());
    for (index, id) in body.ids.iter().enumerate() {
        let parsed = Uuid::parse_str(id)
            .map_err(|_| ApiError::Unprocessable(format!("ids[{index}]: {id:?} is not a UUID")))?;
        ids.push(parsed.to_string());
    }
    let event = SamplesDeleted {
        event_id: Uuid::new_v4().to_string(),
        user_id: user.id.to_string(),
        sample_ids: ids,
        deleted_at: Utc::now().timestamp_micros(),
    };
    state
        .publisher
        .publish(&event.user_id, std::slice::from_ref(&event))
        .await?;
    Ok(warp::reply::json(
        &serde_json::json!({"deleted": event.sample_ids.len()}),
    ))
}
