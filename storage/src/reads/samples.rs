//! Stored samples of one user and type: keyset pages for the samples endpoint, and every
//! sample of a range as the input of a deduplication (samples page, explain).

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use healthpipe_domain::{Sample, SampleType};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::details::{self, SampleDetails};
use crate::sql::query;
use crate::{statement, StoreError};
use healthpipe_crypto::DataKey;

statement!(PAGE, "samples_page");
statement!(PAGE_AFTER, "samples_page_after");
statement!(STARTING_IN, "samples_starting_in");
statement!(NAIVE_DAILY_SUMS, "samples_naive_daily_sums");

/// A stored sample with the columns only a listing shows.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSample {
    pub sample: Sample,
    pub utc_offset_seconds: i32,
    pub source_app: Option<String>,
}

/// Where a page ends: samples are ordered by (start, id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageKey {
    pub start: DateTime<Utc>,
    pub sample_id: Uuid,
}

/// What a range read selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub user_id: Uuid,
    pub sample_type: SampleType,
    /// Start times from `from` (included) to `to` (excluded).
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// At most `limit` samples of `range` after `after` (from its start without it), by
/// (start, id); their sealed details opened with the owner's `key`.
pub async fn page(
    client: &impl GenericClient,
    range: &Range,
    after: Option<PageKey>,
    limit: i64,
    key: Option<&DataKey>,
) -> Result<Vec<StoredSample>, StoreError> {
    let type_name = range.sample_type.as_str();
    let rows = match after {
        None => {
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
                [&range.user_id, &type_name, &range.from, &range.to, &limit];
            query(client, PAGE, &params).await?
        }
        Some(key) => {
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 7] = [
                &range.user_id,
                &type_name,
                &range.from,
                &range.to,
                &limit,
                &key.start,
                &key.sample_id,
            ];
            query(client, PAGE_AFTER, &params).await?
        }
    };
    rows.iter()
        .map(|r| {
            let sample = sample(r, range.sample_type);
            let clear = SampleDetails {
                source_app: r.get(6),
                metadata: Default::default(),
            };
            let sealed: Option<Vec<u8>> = r.get(7);
            let id = r.get::<_, Uuid>(0);
            let details = details::of_row(key, range.user_id, id, sealed.as_deref(), clear)?;
            Ok(StoredSample {
                sample,
                utc_offset_seconds: r.get(5),
                source_app: details.source_app,
            })
        })
        .collect()
}

/// At most `limit` samples of `range`, in no particular order.
pub async fn starting_in(
    client: &impl GenericClient,
    range: &Range,
    limit: i64,
) -> Result<Vec<Sample>, StoreError> {
    let type_name = range.sample_type.as_str();
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
        [&range.user_id, &type_name, &range.from, &range.to, &limit];
    let rows = query(client, STARTING_IN, &params).await?;
    Ok(rows.iter().map(|r| sample(r, range.sample_type)).collect())
}

/// A row starting `sample_id, device_id, value, start_time, end_time` as a domain sample.
fn sample(row: &Row, sample_type: SampleType) -> Sample {
    Sample {
        id: row.get::<_, Uuid>(0).to_string(),
        device_id: row.get::<_, Uuid>(1).to_string(),
        sample_type,
        value: row.get(2),
        start: row.get(3),
        end: row.get(4),
    }
}

/// The user's samples of `sample_type` summed per local start date in `zone`, with no
/// deduplication: the double counting the aggregates avoid, for comparison.
pub async fn naive_daily_sums(
    client: &impl GenericClient,
    user_id: Uuid,
    sample_type: SampleType,
    zone: &str,
) -> Result<std::collections::HashMap<chrono::NaiveDate, f64>, StoreError> {
    let rows = query(
        client,
        NAIVE_DAILY_SUMS,
        &[&user_id, &sample_type.as_str(), &zone],
    )
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}
