//! `GET /api/v1/aggregates/explain?type=&period=&period_start=`: why one bucket of the caller's
//! aggregates has the value it has.
//!
//! It lists every sample of the type that was considered for the bucket (for cumulative types
//! those overlapping it, for discrete and latest types those starting in it), with its device,
//! the device's priority, the share of it that counted and why, next to the bucket's value and
//! coverage. The value is computed from the stored samples by the same domain code the
//! aggregation processor runs, with the devices ranked and the buckets cut as the processor's
//! projections say (`device_rankings`, `user_profiles`), so it equals the stored aggregate
//! whenever the processor has applied the samples, even while a priority or zone change is
//! still on its way. Device names and types come from the registry.
//!
//! `period_start` must be an RFC 3339 instant that is the start of a bucket of `period` in the
//! zone of the caller's aggregates (as `period_start` of `GET /api/v1/aggregates` is). Answer:
//!
//! ```json
//! {"type": "STEPS", "period": "hour", "period_start": "2026-05-04T08:00:00Z",
//!  "period_end": "2026-05-04T09:00:00Z", "value": 825.0, "min_value": 225.0,
//!  "max_value": 600.0, "sample_count": 2, "coverage": {"time_fraction": 0.75, "devices": 2},
//!  "samples": [{"id": "…", "device_id": "…", "device_name": "Watch", "device_type": "apple_watch",
//!    "priority": 100, "value": 600.0, "start_date": "…", "end_date": "…",
//!    "counted_fraction": 1.0, "counted_value": 600.0, "status": "kept", "reason": "kept"}]}
//! ```
//!
//! `counted_fraction` is the counted share of the whole sample, `counted_value` what it adds to
//! this bucket. `status` is `kept`, `trimmed` (`reason`: `trimmed by <device>, …`) or `dropped`
//! (`reason`: `dropped: covered by <device>, …`). A bucket where nothing counted has `value`,
//! `min_value` and `max_value` `null`, `sample_count` 0 and no devices.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use healthpipe_domain::{bucket_start, explain_bucket, AggregationKind, BucketExplanation, Reason};
use healthpipe_storage::accounts::devices::Device;
use healthpipe_storage::reads::samples::{self as stored, Range};
use serde::Serialize;
use warp::Reply;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::query::{Coverage, Params, RankedDevices, Reader};
use crate::AppState;

/// Most samples one explanation loads: a month of minute-by-minute readings fits, a runaway
/// query does not.
const MAX_LOADED_SAMPLES: i64 = 250_000;

#[derive(Debug, Serialize)]
struct ExplainView {
    #[serde(rename = "type")]
    sample_type: &'static str,
    period: &'static str,
    period_start: DateTime<Utc>,
    period_end: DateTime<Utc>,
    value: Option<f64>,
    min_value: Option<f64>,
    max_value: Option<f64>,
    sample_count: u32,
    coverage: Coverage,
    samples: Vec<SampleView>,
}

#[derive(Debug, Serialize)]
struct SampleView {
    id: String,
    device_id: String,
    device_name: String,
    device_type: String,
    priority: Option<i64>,
    value: f64,
    start_date: DateTime<Utc>,
    end_date: DateTime<Utc>,
    counted_fraction: f64,
    counted_value: f64,
    status: &'static str,
    reason: String,
}

/// Role: user. Only the caller's samples and devices are read.
pub async fn explain(
    state: Arc<AppState>,
    user: AuthUser,
    params: Params,
) -> Result<impl Reply, ApiError> {
    let (sample_type, period) = params.series()?;
    let raw_start = params.required("period_start")?;
    let at = params.rfc3339("period_start")?;
    let mut read = Reader::open(&state, &user).await?;
    let tz = read.zone;
    let start = bucket_start(period, at, tz);
    if start != at {
        return Err(ApiError::BadRequest(format!(
            "period_start: {raw_start} is not the start of a {period} in the user's time zone \
             {zone}; the {period} containing it starts at {start}",
            period = period.as_str(),
            zone = tz.name(),
            start = start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        )));
    }
    let end = healthpipe_domain::next_bucket_start(period, start, tz);

    let devices = read
        .first(&state, |db| RankedDevices::load(db, user.id))
        .await?;

    let reach = sample_type.reach(start, end);
    let around = Range {
        user_id: user.id,
        sample_type,
        from: reach.start,
        to: reach.end,
    };
    let samples = stored::starting_in(read.db()?, &around, MAX_LOADED_SAMPLES + 1).await?;
    if samples.len() as i64 > MAX_LOADED_SAMPLES {
        return Err(ApiError::BadRequest(format!(
            "period: more than {MAX_LOADED_SAMPLES} samples around this {}; explain a shorter period",
            period.as_str()
        )));
    }
    drop(read);

    // Deduplication of up to a month of samples is CPU work: off the async threads.
    let ranking = devices.ranking;
    let explanation = tokio::task::spawn_blocking(move || {
        explain_bucket(&samples, &ranking, tz, sample_type, period, start)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("explain task: {e}")))?;
    Ok(warp::reply::json(&view(explanation, &devices.labels)))
}

/// A device's registered name, or its id for a device the registry does not know.
fn device_name<'a>(labels: &'a HashMap<String, Device>, device: &'a str) -> &'a str {
    labels
        .get(device)
        .map_or(device, |d| d.device_name.as_str())
}

fn device_names(labels: &HashMap<String, Device>, devices: &[String]) -> String {
    devices
        .iter()
        .map(|d| device_name(labels, d))
        .collect::<Vec<_>>()
        .join(", ")
}

fn view(e: BucketExplanation, labels: &HashMap<String, Device>) -> ExplainView {
    let names = |devices: &[String]| device_names(labels, devices);
    let samples = e
        .samples
        .iter()
        .map(|s| {
            let (status, reason) = match &s.reason {
                Reason::Kept => ("kept", "kept".to_string()),
                Reason::Trimmed { by } => ("trimmed", format!("trimmed by {}", names(by))),
                Reason::Dropped { covered_by } => (
                    "dropped",
                    format!("dropped: covered by {}", names(covered_by)),
                ),
            };
            SampleView {
                id: s.id.clone(),
                device_id: s.device_id.clone(),
                device_name: device_name(labels, &s.device_id).to_string(),
                device_type: labels
                    .get(&s.device_id)
                    .map_or_else(String::new, |d| d.device_type.clone()),
                priority: s.priority,
                value: s.value,
                start_date: s.start,
                end_date: s.end,
                counted_fraction: s.counted_fraction,
                counted_value: s.counted_in_bucket,
                status,
                reason,
            }
        })
        .collect();
    let cumulative = e.sample_type.kind() == AggregationKind::Cumulative;
    let row = e.row.as_ref();
    ExplainView {
        sample_type: e.sample_type.as_str(),
        period: e.period.as_str(),
        period_start: e.period_start,
        period_end: e.period_end,
        value: row.map(|r| r.value),
        min_value: row.map(|r| r.min_value),
        max_value: row.map(|r| r.max_value),
        sample_count: row.map_or(0, |r| r.sample_count),
        coverage: Coverage {
            time_fraction: row.map_or(cumulative.then_some(0.0), |r| r.coverage),
            devices: row.map_or(0, |r| r.device_count as i32),
        },
        samples,
    }
}
