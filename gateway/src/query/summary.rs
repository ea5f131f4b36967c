//! `GET /api/v1/summary?date=YYYY-MM-DD`: one local day of the caller's day aggregates, each
//! type against its mean over the week before.
//!
//! Answer:
//!
//! ```json
//! {"date": "2026-05-04", "timezone": "Europe/Berlin",
//!  "types": [{"type": "STEPS", "unit": "count", "value": 9000.0, "mean_7d": 7500.0,
//!    "change": 1500.0, "change_percent": 20.0, "days_in_mean": 4}]}
//! ```
//!
//! `date` is a local date in the zone of the caller's aggregates (`timezone`: the zone the
//! processor buckets them in, see `Reader`); its day row is the one starting at that
//! date's local midnight (a DST day lasts 23 or 25 hours, and is still one row). `types` lists
//! every type with a day row on that date, by type name. `mean_7d` is the mean of the day
//! values of those of the 7 previous local days that have a row (`days_in_mean` of them; a day
//! without data is a gap, not a zero), `null` when none has. `change` is `value - mean_7d`,
//! `change_percent` is `change / mean_7d × 100`; both `null` without a mean, and
//! `change_percent` also when the mean is 0.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use healthpipe_domain::SampleType;
use healthpipe_storage::reads::summary as stored;
use serde::Serialize;
use warp::Reply;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::query::{Params, Reader};
use crate::AppState;
use healthpipe_domain::day_start;

/// Days before `date` the mean looks at.
const MEAN_DAYS: u64 = 7;

#[derive(Debug, Serialize)]
struct SummaryView {
    date: NaiveDate,
    timezone: &'static str,
    types: Vec<TypeSummary>,
}

#[derive(Debug, Serialize, PartialEq)]
struct TypeSummary {
    #[serde(rename = "type")]
    sample_type: &'static str,
    unit: &'static str,
    value: f64,
    mean_7d: Option<f64>,
    change: Option<f64>,
    change_percent: Option<f64>,
    days_in_mean: u32,
}

/// Role: user.
pub async fn summary(
    state: Arc<AppState>,
    user: AuthUser,
    params: Params,
) -> Result<impl Reply, ApiError> {
    let date = params.date("date")?;
    let mut read = Reader::open(&state, &user).await?;
    let tz = read.zone;
    let day = day_start(date, tz);
    let previous: Vec<DateTime<Utc>> = (1..=MEAN_DAYS)
        .filter_map(|k| date.checked_sub_days(chrono::Days::new(k)))
        .map(|d| day_start(d, tz))
        .collect();
    let first = previous.iter().copied().min().unwrap_or(day);
    let rows = read
        .first(&state, |db| stored::day_values(db, user.id, first, day))
        .await?;

    // By type name: the answer lists the types in that order.
    let mut by_type: BTreeMap<&'static str, Vec<(DateTime<Utc>, f64)>> = BTreeMap::new();
    for row in rows {
        by_type
            .entry(row.sample_type.as_str())
            .or_default()
            .push((row.period_start, row.value));
    }
    let types = by_type
        .iter()
        .filter_map(|(name, days)| summarise(name.parse().ok()?, days, day, &previous))
        .collect();
    Ok(warp::reply::json(&SummaryView {
        date,
        timezone: tz.name(),
        types,
    }))
}

/// One type's summary from its day rows, or `None` without a row starting at `day`. Rows at
/// other instants than `day` and `previous` (left over from another zone) are ignored.
fn summarise(
    sample_type: SampleType,
    days: &[(DateTime<Utc>, f64)],
    day: DateTime<Utc>,
    previous: &[DateTime<Utc>],
) -> Option<TypeSummary> {
    let value = days.iter().find(|(start, _)| *start == day)?.1;
    let before: Vec<f64> = days
        .iter()
        .filter(|(start, _)| previous.contains(start))
        .map(|(_, v)| *v)
        .collect();
    let mean = (!before.is_empty()).then(|| before.iter().sum::<f64>() / before.len() as f64);
    let change = mean.map(|m| value - m);
    let change_percent = match (change, mean) {
        (Some(c), Some(m)) if m != 0.0 => Some(c / m * 100.0),
        _ => None,
    };
    Some(TypeSummary {
        sample_type: sample_type.as_str(),
        unit: sample_type.canonical_unit().symbol(),
        value,
        mean_7d: mean,
        change,
        change_percent,
        days_in_mean: before.len() as u32,
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, day, 0, 0, 0).unwrap()
    }

    #[test]
    fn the_mean_skips_days_without_data() {
        let previous: Vec<_> = (1..=7).map(|k| at(10 - k)).collect();
        let days = [(at(4), 100.0), (at(8), 200.0), (at(10), 180.0)];
        let s = summarise(SampleType::Steps, &days, at(10), &previous).unwrap();
        assert_eq!(
            (s.value, s.mean_7d, s.change, s.days_in_mean),
            (180.0, Some(150.0), Some(30.0), 2)
        );
        assert_eq!(s.change_percent, Some(20.0));
    }

    #[test]
    fn without_a_mean_or_with_a_zero_mean_there_is_no_percentage() {
        let previous: Vec<_> = (1..=7).map(|k| at(10 - k)).collect();
        let alone = summarise(SampleType::Steps, &[(at(10), 5.0)], at(10), &previous).unwrap();
        assert_eq!(
            (
                alone.mean_7d,
                alone.change,
                alone.change_percent,
                alone.days_in_mean
            ),
            (None, None, None, 0)
        );
        let zero = [(at(9), 0.0), (at(10), 5.0)];
        let zero = summarise(SampleType::Steps, &zero, at(10), &previous).unwrap();
        assert_eq!(
            (zero.mean_7d, zero.change, zero.change_percent),
            (Some(0.0), Some(5.0), None)
        );
        assert!(summarise(SampleType::Steps, &[(at(9), 1.0)], at(10), &previous).is_none());
    }
}
