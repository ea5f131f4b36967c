//! Query parameters shared by the read endpoints. Every invalid parameter is a 400 whose
//! message starts with the parameter's name.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use healthpipe_domain::{Period, SampleType};

use crate::error::ApiError;

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

/// The optional `limit` parameter: `default` when absent, else an integer in `1..=max`.
pub(crate) fn limit_param(
    params: &HashMap<String, String>,
    default: i64,
    max: i64,
) -> Result<i64, ApiError> {
    let Some(raw) = params.get("limit") else {
        return Ok(default);
    };
    raw.parse::<i64>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| ApiError::BadRequest(format!("limit: an integer from 1 to {max}")))
}

/// The required range `from`/`to` (see [`instant`]): `to` after `from`, at most `max_days`
/// apart.
pub(crate) fn range_params(
    params: &HashMap<String, String>,
    tz: Tz,
    max_days: i64,
    what: &str,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let from = instant(required(params, "from")?, "from", tz, false)?;
    let to = instant(required(params, "to")?, "to", tz, true)?;
    if to <= from {
        return Err(ApiError::BadRequest("to: must be after from".into()));
    }
    if to - from > chrono::TimeDelta::days(max_days) {
        return Err(ApiError::BadRequest(format!(
            "to: range too wide{what}; at most {max_days} days"
        )));
    }
    Ok((from, to))
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

/// A local date `YYYY-MM-DD` within [`QUERY_YEARS`], or 400.
pub(crate) fn date_param(raw: &str, name: &str) -> Result<NaiveDate, ApiError> {
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| ApiError::BadRequest(format!("{name}: a date YYYY-MM-DD")))?;
    check_year(date.year(), name)?;
    Ok(date)
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
pub(crate) fn instant(raw: &str, name: &str, tz: Tz, end: bool) -> Result<DateTime<Utc>, ApiError> {
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
    Ok(local_midnight(date, tz))
}

/// The start of the local day `date` in `tz`: local midnight, or the first instant of the day
/// where midnight does not exist (a DST gap at midnight).
pub(crate) fn local_midnight(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    healthpipe_domain::bucket_start(Period::Day, local_noon(date, tz), tz)
}

/// Noon always exists, even on DST days, so it identifies the local date safely.
fn local_noon(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let noon = date.and_hms_opt(12, 0, 0).expect("noon is valid");
    tz.from_local_datetime(&noon)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&noon))
}
