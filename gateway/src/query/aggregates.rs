//! `GET /api/v1/aggregates?type=&period=&from=&to=`: the caller's aggregate rows.
//!
//! Answer: `[{"period_start", "value", "min_value", "max_value", "sample_count", "coverage"}]`,
//! one element per bucket holding a counted sample, by `period_start`. `coverage` tells a quiet
//! bucket from one where the devices were off:
//!
//! - `coverage.time_fraction`: for cumulative types (steps, distance, energy, flights, sleep)
//!   the share of the bucket's time, in `0..=1`, covered by the samples that counted (the
//!   bucket's real length: a local day lasts 23 or 25 hours on DST days); a counted
//!   instantaneous sample covers no time. `null` for discrete and latest types.
//! - `coverage.devices`: the number of distinct devices with a sample counted in the bucket.
//!
//! Rows stored before coverage existed (migration `0004_aggregate_coverage`) answer
//! `{"time_fraction": null, "devices": 0}` until the processor recomputes their bucket.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use healthpipe_domain::Period;
use healthpipe_storage::reads::aggregates::{self as stored, Aggregate};
use serde::Serialize;
use warp::Reply;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::query::{Params, Reader};
use crate::AppState;

#[derive(Debug, Serialize)]
pub struct AggregateView {
    pub period_start: DateTime<Utc>,
    pub value: f64,
    pub min_value: f64,
    pub max_value: f64,
    pub sample_count: i32,
    pub coverage: Coverage,
}

/// How well a bucket is covered (see the module documentation).
#[derive(Debug, Serialize)]
pub struct Coverage {
    /// Share of the bucket's time covered by counted samples; `None` (JSON `null`) for discrete
    /// and latest types.
    pub time_fraction: Option<f64>,
    /// Distinct devices with a sample counted in the bucket.
    pub devices: i32,
}

/// Widest range one request may ask for, per period: it bounds the rows one answer holds.
fn max_range(period: Period) -> TimeDelta {
    match period {
        Period::Hour => TimeDelta::days(31),
        Period::Day => TimeDelta::days(732),
        Period::Week => TimeDelta::days(7 * 520),
        Period::Month => TimeDelta::days(366 * 50),
    }
}

/// Role: user. `from`/`to` are RFC 3339 instants or local dates (YYYY-MM-DD, in the zone of the
/// caller's aggregates; `to` as a date includes that whole day).
pub async fn aggregates(
    state: Arc<AppState>,
    user: AuthUser,
    params: Params,
) -> Result<impl Reply, ApiError> {
    let (sample_type, period) = params.series()?;
    let mut read = Reader::open(&state, &user).await?;
    let (from, to) = params.range(
        read.zone,
        max_range(period).num_days(),
        &format!(" for period {}", period.as_str()),
    )?;
    let rows = read
        .first(&state, |db| {
            stored::range(db, user.id, sample_type, period, from, to)
        })
        .await?;
    let body: Vec<AggregateView> = rows.into_iter().map(AggregateView::from).collect();
    Ok(warp::reply::json(&body))
}

impl From<Aggregate> for AggregateView {
    fn from(row: Aggregate) -> Self {
        AggregateView {
            period_start: row.period_start,
            value: row.value,
            min_value: row.min_value,
            max_value: row.max_value,
            sample_count: row.sample_count,
            coverage: Coverage {
                time_fraction: row.time_fraction,
                devices: row.devices,
            },
        }
    }
}
