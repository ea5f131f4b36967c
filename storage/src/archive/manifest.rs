//! The archive's manifest: which partitions are archived, the hot-tier fingerprint each was
//! written from, its time ranges, its files and the users in them, and the erasures still to
//! apply to the files.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::{Fingerprint, Relation};
use crate::sql::{execute, query, query_opt};
use crate::{statement, StoreError};

statement!(MONTHS_ALL, "archive_months_all");
statement!(MONTH_LOAD, "archive_month_load");
statement!(SEGMENTS_LOAD, "archive_segments_load");
statement!(FILES_LOAD, "archive_files_load");
statement!(MONTHS_HOLDING, "archive_months_holding");
statement!(ERASURES_PENDING, "archive_erasures_pending");
statement!(ERASURES_APPLIED, "archive_erasures_applied");
statement!(MONTH_UPSERT, "archive_month_upsert");
statement!(SEGMENTS_DELETE, "archive_segments_delete");
statement!(SEGMENTS_INSERT, "archive_segments_insert");
statement!(FILES_DELETE, "archive_files_delete");
statement!(FILES_INSERT, "archive_files_insert");
statement!(FILE_USERS_INSERT, "archive_file_users_insert");
statement!(MONTH_DELETE, "archive_month_delete");
statement!(CURRENT_SAMPLES, "archive_current_samples");
statement!(CURRENT_AGGREGATES, "archive_current_aggregates");
statement!(TRY_LOCK, "archive_try_lock");
statement!(UNLOCK, "archive_unlock");

/// The advisory lock key of archive runs ("archive").
const LOCK_KEY: i64 = 0x61_7263_6869_7665;

/// Takes the run lock on this connection's session; `false` if another run holds it. Two
/// runs at once would each delete the other's new files as leftovers.
pub async fn try_lock_run(client: &impl GenericClient) -> Result<bool, StoreError> {
    let row = query_opt(client, TRY_LOCK, &[&LOCK_KEY]).await?;
    Ok(row.is_some_and(|r| r.get(0)))
}

/// Releases the run lock.
pub async fn unlock_run(client: &impl GenericClient) -> Result<(), StoreError> {
    query(client, UNLOCK, &[&LOCK_KEY]).await.map(|_| ())
}

/// One partition: a relation's rows of one sample type in one month (its first day).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartitionKey {
    pub relation: Relation,
    pub sample_type: String,
    pub month: NaiveDate,
}

impl PartitionKey {
    fn relation_name(&self) -> &'static str {
        self.relation.as_str()
    }
}

fn partition_key(r: &tokio_postgres::Row) -> Result<PartitionKey, StoreError> {
    let relation: String = r.get(0);
    Ok(PartitionKey {
        relation: relation.parse().map_err(StoreError::Corrupt)?,
        sample_type: r.get(1),
        month: r.get(2),
    })
}

/// A time range of an archived partition: a chunk that held it when it was written, or, with
/// no chunk, a cold range only the archive holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub chunk: Option<String>,
}

/// A file of the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedFile {
    /// Relative to `ARCHIVE_URL`.
    pub path: String,
    pub part: i32,
    pub rows: i64,
    pub bytes: i64,
    pub sha256: String,
}

/// What the manifest holds of an archived partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthState {
    /// The hot tier's rows when the partition was last written.
    pub fingerprint: Fingerprint,
    pub segments: Vec<Segment>,
    pub files: Vec<ArchivedFile>,
}

/// A file as written, to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    pub path: String,
    pub part: i32,
    pub rows: i64,
    pub bytes: i64,
    pub sha256: String,
    pub users: Vec<Uuid>,
}

/// An erasure the archive has not applied yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingErasure {
    pub user_id: Uuid,
    pub requested_at: DateTime<Utc>,
}

/// Every archived partition, by month.
pub async fn all_months(client: &impl GenericClient) -> Result<Vec<PartitionKey>, StoreError> {
    query(client, MONTHS_ALL, &[])
        .await?
        .iter()
        .map(partition_key)
        .collect()
}

/// The partition's state in the manifest; `None` if it is not archived.
pub async fn month_state(
    client: &impl GenericClient,
    key: &PartitionKey,
) -> Result<Option<MonthState>, StoreError> {
    let params: [&(dyn ToSql + Sync); 3] = [&key.relation_name(), &key.sample_type, &key.month];
    let Some(month) = query_opt(client, MONTH_LOAD, &params).await? else {
        return Ok(None);
    };
    let segments = query(client, SEGMENTS_LOAD, &params)
        .await?
        .iter()
        .map(|r| Segment {
            start: r.get(0),
            end: r.get(1),
            chunk: r.get(2),
        })
        .collect();
    let files = query(client, FILES_LOAD, &params)
        .await?
        .iter()
        .map(|r| ArchivedFile {
            path: r.get(0),
            part: r.get(1),
            rows: r.get(2),
            bytes: r.get(3),
            sha256: r.get(4),
        })
        .collect();
    Ok(Some(MonthState {
        fingerprint: Fingerprint {
            rows: month.get(0),
            sum: month.get(1),
        },
        segments,
        files,
    }))
}

/// The archived partitions with a file holding a row of any of `users`.
pub async fn months_holding(
    client: &impl GenericClient,
    users: &[Uuid],
) -> Result<Vec<PartitionKey>, StoreError> {
    query(client, MONTHS_HOLDING, &[&users])
        .await?
        .iter()
        .map(partition_key)
        .collect()
}

/// Erasures not applied to the archive yet, oldest first.
pub async fn pending_erasures(
    client: &impl GenericClient,
) -> Result<Vec<PendingErasure>, StoreError> {
    Ok(query(client, ERASURES_PENDING, &[])
        .await?
        .iter()
        .map(|r| PendingErasure {
            user_id: r.get(0),
            requested_at: r.get(1),
        })
        .collect())
}

/// Removes `erasures`, now applied; one requested again since stays. Returns how many went.
pub async fn erasures_applied(
    client: &impl GenericClient,
    erasures: &[PendingErasure],
) -> Result<u64, StoreError> {
    let users: Vec<Uuid> = erasures.iter().map(|e| e.user_id).collect();
    let times: Vec<DateTime<Utc>> = erasures.iter().map(|e| e.requested_at).collect();
    execute(client, ERASURES_APPLIED, &[&users, &times]).await
}

/// Records the partition as written now, in one transaction: the hot tier's `fingerprint`
/// it was written from, its `segments`, and `files` in place of the ones before. Returns the
/// paths of the files replaced, to delete from the store now that the manifest no longer
/// names them. With no files the partition is forgotten (everything in it was erased or
/// deleted).
pub async fn record_month(
    client: &mut deadpool_postgres::Client,
    key: &PartitionKey,
    fingerprint: &Fingerprint,
    segments: &[Segment],
    files: &[NewFile],
) -> Result<Vec<String>, StoreError> {
    let tx = begin(client).await?;
    let params: [&(dyn ToSql + Sync); 3] = [&key.relation_name(), &key.sample_type, &key.month];
    let replaced: Vec<String> = query(&tx, FILES_DELETE, &params)
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if files.is_empty() {
        execute(&tx, MONTH_DELETE, &params).await?;
    } else {
        write_month(&tx, key, fingerprint, segments).await?;
        for file in files {
            let row: [&(dyn ToSql + Sync); 8] = [
                &file.path,
                &key.relation_name(),
                &key.sample_type,
                &key.month,
                &file.part,
                &file.rows,
                &file.bytes,
                &file.sha256,
            ];
            execute(&tx, FILES_INSERT, &row).await?;
            execute(&tx, FILE_USERS_INSERT, &[&file.path, &file.users]).await?;
        }
    }
    commit(tx).await?;
    let kept: HashSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    Ok(replaced
        .into_iter()
        .filter(|path| !kept.contains(path.as_str()))
        .collect())
}

/// Records a new fingerprint and segments for a partition whose files stay as they are (the
/// month's chunks were dropped: the files are all there is of it).
pub async fn record_cold(
    client: &mut deadpool_postgres::Client,
    key: &PartitionKey,
    fingerprint: &Fingerprint,
    segments: &[Segment],
) -> Result<(), StoreError> {
    let tx = begin(client).await?;
    write_month(&tx, key, fingerprint, segments).await?;
    commit(tx).await
}

async fn begin(client: &mut deadpool_postgres::Client) -> Result<Transaction<'_>, StoreError> {
    client
        .transaction()
        .await
        .map_err(|e| StoreError::from_postgres("begin", &e))
}

async fn commit(tx: Transaction<'_>) -> Result<(), StoreError> {
    tx.commit()
        .await
        .map_err(|e| StoreError::from_postgres("commit", &e))
}

/// The partition's row and its segments, replaced.
async fn write_month(
    tx: &Transaction<'_>,
    key: &PartitionKey,
    fingerprint: &Fingerprint,
    segments: &[Segment],
) -> Result<(), StoreError> {
    let month: [&(dyn ToSql + Sync); 5] = [
        &key.relation_name(),
        &key.sample_type,
        &key.month,
        &fingerprint.rows,
        &fingerprint.sum,
    ];
    execute(tx, MONTH_UPSERT, &month).await?;
    let params: [&(dyn ToSql + Sync); 3] = [&key.relation_name(), &key.sample_type, &key.month];
    execute(tx, SEGMENTS_DELETE, &params).await?;
    let starts: Vec<DateTime<Utc>> = segments.iter().map(|s| s.start).collect();
    let ends: Vec<DateTime<Utc>> = segments.iter().map(|s| s.end).collect();
    let chunks: Vec<Option<String>> = segments.iter().map(|s| s.chunk.clone()).collect();
    let ranges: [&(dyn ToSql + Sync); 6] = [
        &key.relation_name(),
        &key.sample_type,
        &key.month,
        &starts,
        &ends,
        &chunks,
    ];
    execute(tx, SEGMENTS_INSERT, &ranges).await?;
    Ok(())
}

/// Forgets a partition whose files were deleted (past the retention horizon).
pub async fn forget_month(
    client: &impl GenericClient,
    key: &PartitionKey,
) -> Result<(), StoreError> {
    execute(
        client,
        MONTH_DELETE,
        &[&key.relation_name(), &key.sample_type, &key.month],
    )
    .await
    .map(|_| ())
}

/// For `relation`, the (sample type, month) partitions that are archived and current: their
/// files hold every row the hot tier holds of them now (the fingerprint recorded when they
/// were written equals the database's), so dropping the month's chunks loses nothing. What
/// the retention command asks before it drops chunks when an archive is configured.
///
/// Cost: one scan of every archived month still in the hot tier (hashing its rows).
pub async fn archived_months(
    client: &impl GenericClient,
    relation: Relation,
) -> Result<Vec<(String, NaiveDate)>, StoreError> {
    let sql = match relation {
        Relation::Samples => CURRENT_SAMPLES,
        Relation::Aggregates => CURRENT_AGGREGATES,
    };
    Ok(query(client, sql, &[])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}
