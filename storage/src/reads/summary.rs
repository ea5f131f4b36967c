//! The day rows the daily summary compares.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use healthpipe_domain::SampleType;
use uuid::Uuid;

use crate::sql::query;
use crate::{statement, StoreError};

statement!(DAY_ROWS, "summary_day_rows");

/// The value of one type's day starting at `period_start`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayValue {
    pub sample_type: SampleType,
    pub period_start: DateTime<Utc>,
    pub value: f64,
}

/// Every type's day rows starting in [`first`, `last`] (both included), by type then start.
pub async fn day_values(
    client: &impl GenericClient,
    user_id: Uuid,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
) -> Result<Vec<DayValue>, StoreError> {
    let types: Vec<&str> = SampleType::all().map(SampleType::as_str).collect();
    let rows = query(client, DAY_ROWS, &[&user_id, &types, &first, &last]).await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            Some(DayValue {
                sample_type: r.get::<_, &str>(0).parse().ok()?,
                period_start: r.get(1),
                value: r.get(2),
            })
        })
        .collect())
}
