//! Everything stored about one user, page by page, for the user's own export: every column,
//! in a stable order, so an export never holds a whole history in memory.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use healthpipe_domain::SampleType;
use serde::Serialize;
use uuid::Uuid;

use crate::details::{self, SampleDetails};
use crate::sql::query;
use crate::{statement, StoreError};
use healthpipe_crypto::DataKey;

statement!(SAMPLES_PAGE, "export_samples_page");
statement!(AGGREGATES_PAGE, "export_aggregates_page");

/// One stored sample, every column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportedSample {
    pub sample_id: Uuid,
    pub device_id: Uuid,
    pub sample_type: SampleType,
    pub value: f64,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub utc_offset_seconds: i32,
    pub source_app: Option<String>,
    pub sync_identifier: Option<String>,
    pub sync_version: Option<i64>,
    pub metadata: std::collections::BTreeMap<String, String>,
    pub counted_fraction: f64,
}

/// One aggregate row, every column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportedAggregate {
    pub sample_type: String,
    pub period: String,
    pub period_start: DateTime<Utc>,
    pub value: f64,
    pub min_value: f64,
    pub max_value: f64,
    pub sample_count: i32,
    pub coverage: Option<f64>,
    pub device_count: i32,
}

/// Before every stored time (PostgreSQL's range starts earlier still).
fn origin() -> DateTime<Utc> {
    DateTime::from_timestamp(-62_135_596_800, 0).expect("0001-01-01 is a valid time")
}

/// Where a samples page starts: after `(start, id)`; `None` for the first page.
pub type SampleKey = Option<(DateTime<Utc>, Uuid)>;

/// At most `limit` of the user's samples of `sample_type` after `after`, by (start, id),
/// their sealed details opened with the user's `key`.
pub async fn samples_page(
    client: &impl GenericClient,
    user: Uuid,
    sample_type: SampleType,
    after: SampleKey,
    limit: i64,
    key: Option<&DataKey>,
) -> Result<Vec<ExportedSample>, StoreError> {
    let (start, id) = after.unwrap_or((origin(), Uuid::nil()));
    let type_name = sample_type.as_str();
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
        [&user, &type_name, &start, &id, &limit];
    let rows = query(client, SAMPLES_PAGE, &params).await?;
    rows.iter()
        .map(|r| {
            let sample_id: Uuid = r.get(0);
            let clear = SampleDetails {
                source_app: r.get(6),
                metadata: serde_json::from_value(r.get(9)).unwrap_or_default(),
            };
            let sealed: Option<Vec<u8>> = r.get(11);
            let details = details::of_row(key, user, sample_id, sealed.as_deref(), clear)?;
            Ok(ExportedSample {
                sample_id,
                device_id: r.get(1),
                sample_type,
                value: r.get(2),
                start_time: r.get(3),
                end_time: r.get(4),
                utc_offset_seconds: r.get(5),
                source_app: details.source_app,
                sync_identifier: r.get(7),
                sync_version: r.get(8),
                metadata: details.metadata,
                counted_fraction: r.get(10),
            })
        })
        .collect()
}

/// Where an aggregates page starts: after `(type, period, start)`; `None` for the first.
pub type AggregateKey = Option<(String, String, DateTime<Utc>)>;

/// At most `limit` of the user's aggregate rows after `after`, in key order.
pub async fn aggregates_page(
    client: &impl GenericClient,
    user: Uuid,
    after: AggregateKey,
    limit: i64,
) -> Result<Vec<ExportedAggregate>, StoreError> {
    let (sample_type, period, start) = after.unwrap_or((String::new(), String::new(), origin()));
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
        [&user, &sample_type, &period, &start, &limit];
    let rows = query(client, AGGREGATES_PAGE, &params).await?;
    Ok(rows
        .iter()
        .map(|r| ExportedAggregate {
            sample_type: r.get(0),
            period: r.get(1),
            period_start: r.get(2),
            value: r.get(3),
            min_value: r.get(4),
            max_value: r.get(5),
            sample_count: r.get(6),
            coverage: r.get(7),
            device_count: r.get(8),
        })
        .collect())
}
