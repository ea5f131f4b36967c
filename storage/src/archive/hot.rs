//! What the archive reads of the hot tier, meant to run in one repeatable-read transaction
//! per month so the chunks, the fingerprints and the rows are one snapshot.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Portal, Row};
use uuid::Uuid;

use super::Relation;
use crate::sql::{observe, query, Sql};
use crate::{statement, StoreError};

statement!(SESSION, "archive_session");
statement!(CHUNKS, "archive_chunks");
statement!(SAMPLES_FINGERPRINTS, "archive_samples_fingerprints");
statement!(AGGREGATES_FINGERPRINTS, "archive_aggregates_fingerprints");
statement!(SAMPLES_ROWS, "archive_samples_rows");
statement!(AGGREGATES_ROWS, "archive_aggregates_rows");

/// Lifts the pool's statement timeout for this connection, which then reads whole months.
pub async fn long_reads(client: &impl GenericClient) -> Result<(), StoreError> {
    crate::sql::execute(client, SESSION, &[]).await.map(|_| ())
}

/// A read-only repeatable-read transaction: one snapshot of the hot tier for a month's
/// chunks, fingerprints and rows.
pub type Snapshot<'a> = Transaction<'a>;

/// Starts a [`Snapshot`] on `client`.
pub async fn snapshot(client: &mut deadpool_postgres::Client) -> Result<Snapshot<'_>, StoreError> {
    client
        .build_transaction()
        .read_only(true)
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .start()
        .await
        .map_err(|e| StoreError::from_postgres("begin", &e))
}

/// A hypertable chunk: its name (never reused once dropped) and its time range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub name: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The chunks of `relation` overlapping `[from, to)`, by start.
pub async fn chunks(
    client: &impl GenericClient,
    relation: Relation,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Chunk>, StoreError> {
    let rows = query(client, CHUNKS, &[&relation.as_str(), &from, &to]).await?;
    Ok(rows
        .iter()
        .map(|r| Chunk {
            name: r.get(0),
            start: r.get(1),
            end: r.get(2),
        })
        .collect())
}

/// A partition's rows summed up: their number and the sum of their hashes (a numeric, kept
/// as its text). Equal fingerprints mean, short of a hash collision, equal rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub rows: i64,
    pub sum: String,
}

impl Fingerprint {
    /// The fingerprint of no rows.
    pub fn empty() -> Fingerprint {
        Fingerprint {
            rows: 0,
            sum: "0".into(),
        }
    }
}

/// Per sample type, the fingerprint of `relation`'s rows in `[start, end)` (a month). Types
/// without rows are absent.
///
/// Cost: one scan of the month's chunks (chunk exclusion keeps it to them), hashing every
/// row: about as much as reading the month once. A run pays it for every archivable month
/// still in the hot tier, whether or not the month changed.
pub async fn fingerprints(
    client: &impl GenericClient,
    relation: Relation,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<BTreeMap<String, Fingerprint>, StoreError> {
    let sql = match relation {
        Relation::Samples => SAMPLES_FINGERPRINTS,
        Relation::Aggregates => AGGREGATES_FINGERPRINTS,
    };
    let rows = query(client, sql, &[&start, &end]).await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.get(0),
                Fingerprint {
                    rows: r.get(1),
                    sum: r.get(2),
                },
            )
        })
        .collect())
}

/// One row of `samples`, every column but the type.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleRow {
    pub user_id: Uuid,
    pub sample_id: Uuid,
    pub device_id: Uuid,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub utc_offset_seconds: i32,
    pub value: f64,
    pub counted_fraction: f64,
    pub source_app: Option<String>,
    pub sync_identifier: Option<String>,
    pub sync_version: Option<i64>,
    pub metadata: serde_json::Value,
    /// Sealed, as stored.
    pub details: Option<Vec<u8>>,
}

/// One row of `aggregates`, every column but the type.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateRow {
    pub user_id: Uuid,
    pub period: String,
    pub period_start: DateTime<Utc>,
    pub value: f64,
    pub min_value: f64,
    pub max_value: f64,
    pub sample_count: i32,
    pub coverage: Option<f64>,
    pub device_count: i32,
}

fn sample_row(r: &Row) -> SampleRow {
    SampleRow {
        user_id: r.get(0),
        sample_id: r.get(1),
        device_id: r.get(2),
        start_time: r.get(3),
        end_time: r.get(4),
        utc_offset_seconds: r.get(5),
        value: r.get(6),
        counted_fraction: r.get(7),
        source_app: r.get(8),
        sync_identifier: r.get(9),
        sync_version: r.get(10),
        metadata: r.get(11),
        details: r.get(12),
    }
}

fn aggregate_row(r: &Row) -> AggregateRow {
    AggregateRow {
        user_id: r.get(0),
        period: r.get(1),
        period_start: r.get(2),
        value: r.get(3),
        min_value: r.get(4),
        max_value: r.get(5),
        sample_count: r.get(6),
        coverage: r.get(7),
        device_count: r.get(8),
    }
}

/// A month's rows of one type, in the archive's key order, fetched `batch` rows at a time
/// through a portal (a server-side cursor) of the caller's transaction: memory holds one
/// batch, however big the month.
pub struct RowStream<'t, T> {
    tx: &'t Snapshot<'t>,
    sql: Sql<'static>,
    portal: Portal,
    batch: i32,
    map: fn(&Row) -> T,
    done: bool,
}

impl<'t, T> RowStream<'t, T> {
    async fn open(
        tx: &'t Snapshot<'t>,
        sql: Sql<'static>,
        params: &[&(dyn ToSql + Sync)],
        batch: i32,
        map: fn(&Row) -> T,
    ) -> Result<Self, StoreError> {
        let started = Instant::now();
        let result = async {
            let statement = tx.prepare_cached(sql.text).await?;
            tx.bind(&statement, params).await
        }
        .await;
        let portal = observe(sql, started, result, |_| 0)?;
        Ok(RowStream {
            tx,
            sql,
            portal,
            batch: batch.max(1),
            map,
            done: false,
        })
    }

    /// The next batch; `None` once every row was read.
    pub async fn next_batch(&mut self) -> Result<Option<Vec<T>>, StoreError> {
        if self.done {
            return Ok(None);
        }
        let started = Instant::now();
        let result = self.tx.query_portal(&self.portal, self.batch).await;
        let rows = observe(self.sql, started, result, |rows| rows.len() as u64)?;
        if rows.len() < self.batch as usize {
            self.done = true;
        }
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(rows.iter().map(self.map).collect()))
    }
}

impl<'t> RowStream<'t, SampleRow> {
    /// The samples of `sample_type` starting in `[start, end)`, by (user, start, id).
    pub async fn samples(
        tx: &'t Snapshot<'t>,
        sample_type: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        batch: i32,
    ) -> Result<Self, StoreError> {
        Self::open(
            tx,
            SAMPLES_ROWS,
            &[&sample_type, &start, &end],
            batch,
            sample_row,
        )
        .await
    }
}

impl<'t> RowStream<'t, AggregateRow> {
    /// The aggregate rows of `sample_type` whose period starts in `[start, end)`, by (user,
    /// period, start).
    pub async fn aggregates(
        tx: &'t Snapshot<'t>,
        sample_type: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        batch: i32,
    ) -> Result<Self, StoreError> {
        Self::open(
            tx,
            AGGREGATES_ROWS,
            &[&sample_type, &start, &end],
            batch,
            aggregate_row,
        )
        .await
    }
}
