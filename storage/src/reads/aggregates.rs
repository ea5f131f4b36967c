//! The aggregate rows of one user, type and period.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use healthpipe_domain::{Period, SampleType};
use uuid::Uuid;

use crate::sql::query;
use crate::{statement, StoreError};

statement!(RANGE, "aggregates_range");

/// One stored bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    pub period_start: DateTime<Utc>,
    pub value: f64,
    pub min_value: f64,
    pub max_value: f64,
    pub sample_count: i32,
    /// Share of the bucket's time covered by counted samples; `None` for discrete and latest
    /// types, and for rows stored before coverage existed.
    pub time_fraction: Option<f64>,
    /// Distinct devices with a counted sample (0 for rows stored before coverage existed).
    pub devices: i32,
}

/// The buckets of `sample_type` and `period` starting in [`from`, `to`), by start.
pub async fn range(
    client: &impl GenericClient,
    user_id: Uuid,
    sample_type: SampleType,
    period: Period,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Aggregate>, StoreError> {
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] = [
        &user_id,
        &sample_type.as_str(),
        &period.as_str(),
        &from,
        &to,
    ];
    let rows = query(client, RANGE, &params).await?;
    Ok(rows
        .iter()
        .map(|r| Aggregate {
            period_start: r.get(0),
            value: r.get(1),
            min_value: r.get(2),
            max_value: r.get(3),
            sample_count: r.get(4),
            time_fraction: r.get(5),
            devices: r.get(6),
        })
        .collect())
}
