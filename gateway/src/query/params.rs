//! Query parameters shared by the read endpoints. Every invalid parameter is a 400 whose
//! message starts with the parameter's name.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use healthpipe_domain::{Period, SampleType};

use crate::error::ApiError;

/// The query string of a read endpoint, as warp parses it (a repeated name keeps its last
/// value). Each accessor parses one parameter or answers the 400 naming it.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(transparent)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// An optional parameter, as sent.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub(crate) fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name)
            .ok_or_else(|| ApiError::BadRequest(format!("{name}: required")))
    }

    /// The `type` parameter.
    pub(crate) fn sample_type(&self) -> Result<SampleType, ApiError> {
        self.required("type")?
            .parse()
            .map_err(|_| ApiError::BadRequest("type: not a known sample type".into()))
    }

    /// The `period` parameter.
    pub(crate) fn period(&self) -> Result<Period, ApiError> {
        self.required("period")?
            .parse()
            .map_err(|e| ApiError::BadRequest(format!("period: {e}")))
    }

    /// The `type` and `period` parameters: the series of buckets a request reads.
    pub(crate) fn series(&self) -> Result<(SampleType, Period), ApiError> {
        Ok((self.sample_type()?, self.period()?))
    }

    /// The optional `limit` parameter: `default` when absent, else an integer in `1..=max`.
    pub(crate) fn limit(&self, default: i64, max: i64) -> Result<i64, ApiError> {
        let Some(raw) = self.get("limit") else {
            return Ok(default);
        };
        raw.parse::<i64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::BadRequest(format!("limit: an integer from 1 to {max}")))
    }

    /// The required range `from`/`to` (see [`instant`]): `to` after `from`, at most
    /// `max_days` apart; `what` qualifies the message of a range too wide.
    pub(crate) fn range(
        &self,
        tz: Tz,
        max_days: i64,
        what: &str,
    ) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
        let from = instant(self.required("from")?, "from", tz, false)?;
        let to = instant(self.required("to")?, "to", tz, true)?;
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

    /// The required RFC 3339 instant `name`.
    pub(crate) fn rfc3339(&self, name: &str) -> Result<DateTime<Utc>, ApiError> {
        rfc3339_param(self.required(name)?, name)
    }

    /// The required local date `name`.
    pub(crate) fn date(&self, name: &str) -> Result<NaiveDate, ApiError> {
        date_param(self.required(name)?, name)
    }
}

#[cfg(test)]
impl<const N: usize> From<[(&str, &str); N]> for Params {
    fn from(pairs: [(&str, &str); N]) -> Self {
        Params(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }
}

/// Years a query may name: wide enough for any health record, narrow enough that every
/// bucket around them has an RFC 3339 start and end.
pub(crate) const QUERY_YEARS: std::ops::RangeInclusive<i32> = 1900..=2999;

/// An RFC 3339 instant within [`QUERY_YEARS`], or 400.
fn rfc3339_param(raw: &str, name: &str) -> Result<DateTime<Utc>, ApiError> {
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
fn date_param(raw: &str, name: &str) -> Result<NaiveDate, ApiError> {
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
    Ok(healthpipe_domain::day_start(date, tz))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message<T: std::fmt::Debug>(result: Result<T, ApiError>) -> String {
        match result {
            Err(ApiError::BadRequest(m)) => m,
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn limits_default_and_stay_in_range() {
        assert_eq!(Params::default().limit(100, 500).unwrap(), 100);
        assert_eq!(
            Params::from([("limit", "500")]).limit(100, 500).unwrap(),
            500
        );
        for bad in ["0", "501", "-1", "ten", ""] {
            let m = message(Params::from([("limit", bad)]).limit(100, 500));
            assert_eq!(m, "limit: an integer from 1 to 500", "{bad:?}");
        }
    }

    #[test]
    fn every_invalid_parameter_is_named() {
        let params = Params::from([("type", "STAIRS"), ("period", "year")]);
        assert!(message(params.sample_type()).starts_with("type: "));
        assert!(message(params.period()).starts_with("period: "));
        assert_eq!(message(params.date("date")), "date: required");
        let range = Params::from([("from", "2026-05-04"), ("to", "2026-05-03")]);
        assert_eq!(
            message(range.range(Tz::UTC, 31, "")),
            "to: must be after from"
        );
    }

    #[test]
    fn a_date_range_is_read_in_the_zone_and_includes_its_last_day() {
        let params = Params::from([("from", "2026-05-04"), ("to", "2026-05-04")]);
        let (from, to) = params.range(chrono_tz::Europe::Berlin, 31, "").unwrap();
        assert_eq!(from.to_rfc3339(), "2026-05-03T22:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-05-04T22:00:00+00:00");
    }
}
