//! The read side: `GET /api/v1/aggregates`. It reads only the projections the processors
//! write, and only the caller's rows.
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

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use healthpipe_domain::{Period, SampleType};
use serde::Serialize;
use warp::Reply;

use crate::auth::AuthUser;
use crate::error::ApiError;
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

/// Role: user. `from`/`to` are RFC 3339 instants or local dates (YYYY-MM-DD, in the caller's
/// zone; `to` as a date includes that whole day).
pub async fn aggregates(
    state: Arc<AppState>,
    user: AuthUser,
    params: HashMap<String, String>,
) -> Result<impl Reply, ApiError> {
    let sample_type = sample_type_param(&params)?;
    let period = period_param(&params)?;
    let db = state.db.get().await?;
    let tz = user_zone(&db, &user).await?;
    let from = instant(required(&params, "from")?, "from", tz, false)?;
    let to = instant(required(&params, "to")?, "to", tz, true)?;
    if to <= from {
        return Err(ApiError::BadRequest("to: must be after from".into()));
    }
    if to - from > max_range(period) {
        return Err(ApiError::BadRequest(format!(
            "to: range too wide for period {}; at most {} days",
            period.as_str(),
            max_range(period).num_days()
        )));
    }
    let rows = db
        .query(
            "SELECT period_start, value, min_value, max_value, sample_count, coverage, device_count \
             FROM aggregates \
             WHERE user_id = $1 AND sample_type = $2 AND period = $3 \
             AND period_start >= $4 AND period_start < $5 ORDER BY period_start",
            &[
                &user.id,
                &sample_type.as_str(),
                &period.as_str(),
                &from,
                &to,
            ],
        )
        .await?;
    let body: Vec<AggregateView> = rows
        .iter()
        .map(|r| AggregateView {
            period_start: r.get(0),
            value: r.get(1),
            min_value: r.get(2),
            max_value: r.get(3),
            sample_count: r.get(4),
            coverage: Coverage {
                time_fraction: r.get(5),
                devices: r.get(6),
            },
        })
        .collect();
    Ok(warp::reply::json(&body))
}

pub(crate) fn required<'a>(
    params: &'a HashMap<String, String>,
    name: &str,
) -> Result<&'a str, ApiError> {
    params
        .get(name)
        .map(String::as_str)
        .ok_or_else(|| ApiError::BadRequest(format!("{name}: required")))
}

/// The `type` parameter.
pub(crate) fn sample_type_param(params: &HashMap<String, String>) -> Result<SampleType, ApiError> {
    required(params, "type")?
        .parse()
        .map_err(|_| ApiError::BadRequest("type: not a known sample type".into()))
}

/// The `period` parameter.
pub(crate) fn period_param(params: &HashMap<String, String>) -> Result<Period, ApiError> {
    match required(params, "period")? {
        "hour" => Ok(Period::Hour),
        "day" => Ok(Period::Day),
        "week" => Ok(Period::Week),
        "month" => Ok(Period::Month),
        _ => Err(ApiError::BadRequest(
            "period: one of hour, day, week, month".into(),
        )),
    }
}

/// The caller's time zone (UTC if the stored name is not a zone).
pub(crate) async fn user_zone(
    db: &deadpool_postgres::Client,
    user: &AuthUser,
) -> Result<Tz, ApiError> {
    Ok(db
        .query_one("SELECT timezone FROM users WHERE id = $1", &[&user.id])
        .await?
        .get::<_, String>(0)
        .parse()
        .unwrap_or(Tz::UTC))
}

/// Years a query may name: wide enough for any health record, narrow enough that every
/// bucket around them has an RFC 3339 start and end.
pub(crate) const QUERY_YEARS: std::ops::RangeInclusive<i32> = 1900..=2999;

/// An RFC 3339 instant within [`QUERY_YEARS`], or 400.
pub(crate) fn rfc3339_param(raw: &str, name: &str) -> Result<DateTime<Utc>, ApiError> {
    let t = DateTime::parse_from_rfc3339(raw)
        .map_err(|_| {
            ApiError::BadRequest(format!(
                "{name}: an RFC 3339 instant, such as 2026-05-04T00:00:00+02:00"
            ))
        })?
        .to_utc();
    check_year(t.year(), name)?;
    Ok(t)
}

fn check_year(year: i32, name: &str) -> Result<(), ApiError> {
    if QUERY_YEARS.contains(&year) {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "{name}: years {} to {}",
            QUERY_YEARS.start(),
            QUERY_YEARS.end()
        )))
    }
}

/// An RFC 3339 instant, or a local date in `tz` (its start; the next day's start for an
/// inclusive end).
fn instant(raw: &str, name: &str, tz: Tz, end: bool) -> Result<DateTime<Utc>, ApiError> {
    if DateTime::parse_from_rfc3339(raw).is_ok() {
        return rfc3339_param(raw, name);
    }
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
        ApiError::BadRequest(format!("{name}: an RFC 3339 instant or a date YYYY-MM-DD"))
    })?;
    check_year(date.year(), name)?;
    let date = if end {
        date.succ_opt().unwrap_or(date)
    } else {
        date
    };
    Ok(healthpipe_domain::bucket_start(
        Period::Day,
        local_noon(date, tz),
        tz,
    ))
}

/// Noon always exists, even on DST days, so it identifies the local date safely.
fn local_noon(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let noon = date.and_hms_opt(12, 0, 0).expect("noon is valid");
    tz.from_local_datetime(&noon)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&noon))
}
