//! Import jobs (migration `0017_imports`): one row per import of an export file, moved
//! along by the process running it, and the two reads its report makes of the projections.
//!
//! A running import keeps a heartbeat; one whose heartbeat stopped (its process ended) is
//! marked failed by [`fail_stale`], which every start and every read of imports runs first,
//! so an interrupted import is never shown as running for long and never blocks the next.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use healthpipe_domain::SampleType;
use serde::Serialize;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::sql::{query, query_one, query_opt};
use crate::{statement, StoreError};

statement!(FAIL_STALE, "imports_fail_stale");
statement!(START, "imports_start");
statement!(RUNNING, "imports_running");
statement!(PROGRESS, "imports_progress");
statement!(FINISH, "imports_finish");
statement!(FIND, "imports_find");
statement!(LIST, "imports_list");
statement!(SAMPLES_BY_DEVICE, "imports_samples_by_device");
statement!(TYPE_TOTALS, "imports_type_totals");

/// An import as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportRow {
    pub id: Uuid,
    pub source: String,
    pub origin: String,
    /// `running`, `completed` or `failed`.
    pub status: String,
    /// `reading`, `processing` or `done`.
    pub phase: String,
    pub error: Option<String>,
    pub progress: Progress,
    pub report: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// How far a running import got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub bytes_read: i64,
    pub bytes_total: Option<i64>,
    pub records: i64,
}

/// What starts an import.
#[derive(Debug, Clone, Copy)]
pub struct NewImport<'a> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub source: &'a str,
    /// `api` or `cli`.
    pub origin: &'a str,
    pub bytes_total: Option<i64>,
}

/// Marks failed, with `message`, every running import whose heartbeat is `stale_secs` old.
pub async fn fail_stale(
    client: &impl GenericClient,
    stale_secs: f64,
    message: &str,
) -> Result<u64, StoreError> {
    Ok(query(client, FAIL_STALE, &[&stale_secs, &message])
        .await?
        .len() as u64)
}

/// Records a running import; false if the user already has one running.
pub async fn start(client: &impl GenericClient, new: &NewImport<'_>) -> Result<bool, StoreError> {
    let row = query_opt(
        client,
        START,
        &[
            &new.id,
            &new.user_id,
            &new.source,
            &new.origin,
            &new.bytes_total,
        ],
    )
    .await?;
    Ok(row.is_some())
}

/// Whether the user has an import running.
pub async fn running(client: &impl GenericClient, user_id: Uuid) -> Result<bool, StoreError> {
    Ok(query_one(client, RUNNING, &[&user_id]).await?.get(0))
}

/// Moves the heartbeat and the progress; false if the import is no longer running (it was
/// marked failed as interrupted) and must stop.
pub async fn progress(
    client: &impl GenericClient,
    id: Uuid,
    phase: &str,
    bytes_read: i64,
    records: i64,
) -> Result<bool, StoreError> {
    let row = query_opt(client, PROGRESS, &[&id, &phase, &bytes_read, &records]).await?;
    Ok(row.is_some())
}

/// How an import ended.
#[derive(Debug, Clone)]
pub enum Finish {
    Completed(serde_json::Value),
    Failed(String),
}

/// Ends a running import; false if it was no longer running.
pub async fn finish(
    client: &impl GenericClient,
    id: Uuid,
    outcome: &Finish,
) -> Result<bool, StoreError> {
    let (status, error, report) = match outcome {
        Finish::Completed(report) => ("completed", None, Some(report)),
        Finish::Failed(message) => ("failed", Some(message.as_str()), None),
    };
    let row = query_opt(client, FINISH, &[&id, &status, &error, &report]).await?;
    Ok(row.is_some())
}

/// The user's import `id`, if it is theirs.
pub async fn find(
    client: &impl GenericClient,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<ImportRow>, StoreError> {
    Ok(query_opt(client, FIND, &[&id, &user_id])
        .await?
        .as_ref()
        .map(import_row))
}

/// The user's latest `limit` imports, newest first.
pub async fn list(
    client: &impl GenericClient,
    user_id: Uuid,
    limit: i64,
) -> Result<Vec<ImportRow>, StoreError> {
    Ok(query(client, LIST, &[&user_id, &limit])
        .await?
        .iter()
        .map(import_row)
        .collect())
}

fn import_row(r: &Row) -> ImportRow {
    ImportRow {
        id: r.get(0),
        source: r.get(1),
        origin: r.get(2),
        status: r.get(3),
        phase: r.get(4),
        error: r.get(5),
        progress: Progress {
            bytes_total: r.get(6),
            bytes_read: r.get(7),
            records: r.get(8),
        },
        report: r.get(9),
        created_at: r.get(10),
        finished_at: r.get(11),
    }
}

/// Stored samples of each of `devices` (devices without any are left out).
pub async fn samples_by_device(
    client: &impl GenericClient,
    user_id: Uuid,
    devices: &[Uuid],
) -> Result<HashMap<Uuid, i64>, StoreError> {
    let rows = query(client, SAMPLES_BY_DEVICE, &[&user_id, &devices]).await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// One type's totals over a time range: its stored samples summed as they are, every device
/// added up, and its deduplicated day buckets summed (the double counting avoided is the
/// difference). Meaningful for cumulative types.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TypeTotals {
    pub naive_sum: f64,
    pub deduplicated: f64,
}

/// [`TypeTotals`] of `sample_type` over [`from`, `to`), which should be day bucket bounds.
pub async fn type_totals(
    client: &impl GenericClient,
    user_id: Uuid,
    sample_type: SampleType,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<TypeTotals, StoreError> {
    let row = query_one(
        client,
        TYPE_TOTALS,
        &[&user_id, &sample_type.as_str(), &from, &to],
    )
    .await?;
    Ok(TypeTotals {
        naive_sum: row.get(0),
        deduplicated: row.get(1),
    })
}
