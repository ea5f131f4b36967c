//! The raw samples, the index of every sample id ever seen (`sample_index`, with tombstones)
//! and the current version of each sync identifier (`sync_versions`).
//!
//! Every read and write takes the whole batch: arrays through `unnest`, or binary COPY for
//! new rows, never a round trip per row.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use healthpipe_domain::{Sample, SampleType};
use tokio_postgres::types::Type;
use uuid::Uuid;

use crate::sql::{copy_in, execute, query};
use crate::{statement, StoreError};

statement!(SYNC_VERSIONS_LOAD, "sync_versions_load");
statement!(SYNC_VERSIONS_UPSERT, "sync_versions_upsert");
statement!(INDEX_LOAD, "sample_index_load");
statement!(INDEX_COPY, "sample_index_copy");
statement!(INDEX_TOMBSTONE, "sample_index_tombstone");
statement!(SAMPLES_COPY, "samples_copy");
statement!(SAMPLES_DELETE, "samples_delete");
statement!(SAMPLES_SPANS, "samples_spans");
statement!(SAMPLES_IN_RANGES, "samples_in_ranges");

/// (user, sample id).
pub type SampleKey = (Uuid, Uuid);
/// (user, sync identifier).
pub type SyncKey = (Uuid, String);
/// (version, sample id) of the current sample of a sync identifier.
pub type SyncVersion = (i64, Uuid);

/// A `sample_index` row: where a sample id's row is, and whether it was deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexEntry {
    pub sample_type: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub deleted: bool,
}

/// What is stored about the sample ids and sync identifiers a batch mentions.
#[derive(Debug, Default)]
pub struct KnownState {
    /// (user, sample id) → its index entry.
    pub samples: HashMap<SampleKey, IndexEntry>,
    /// (user, sync identifier) → its current version.
    pub sync_versions: HashMap<SyncKey, SyncVersion>,
}

/// A `samples` row to insert, as the event carried it (times already decoded).
#[derive(Debug, Clone, PartialEq)]
pub struct SampleRow {
    pub user_id: Uuid,
    pub sample_id: Uuid,
    pub device_id: Uuid,
    pub sample_type: String,
    pub value: f64,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub utc_offset_seconds: i32,
    pub source_app: Option<String>,
    pub sync_identifier: Option<String>,
    pub sync_version: Option<i64>,
    pub metadata: HashMap<String, String>,
    /// `source_app` and `metadata` sealed (see [`crate::details`]); when set, the two clear
    /// fields are stored empty.
    pub details: Option<Vec<u8>>,
}

/// A time range of one user's samples of one type: what [`spans`] finds (first start to last
/// end).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleRange {
    pub user: Uuid,
    pub sample_type: SampleType,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// What [`load_ranges`] reads of one user's samples of one type: those starting in
/// `[starts_from, starts_to)` and ending at or after `ends_from`. A sample that ends before
/// the days being recomputed begin cannot touch them, however close its start: the filter
/// spares reading back the day before, which the start index alone has to include.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleReach {
    pub user: Uuid,
    pub sample_type: SampleType,
    pub starts_from: DateTime<Utc>,
    pub starts_to: DateTime<Utc>,
    pub ends_from: DateTime<Utc>,
}

/// The index entries of `ids` and the current versions of `syncs`. The index entries of the
/// samples those versions point to are loaded too: a higher version replaces (deletes) the
/// current sample, which the batch does not mention when it arrived in an earlier batch.
pub async fn load_known(
    tx: &Transaction<'_>,
    ids: &[SampleKey],
    syncs: &[SyncKey],
) -> Result<KnownState, StoreError> {
    let (sync_users, sync_ids): (Vec<Uuid>, Vec<&str>) =
        syncs.iter().map(|(u, s)| (*u, s.as_str())).unzip();
    let rows = query(tx, SYNC_VERSIONS_LOAD, &[&sync_users, &sync_ids]).await?;
    let sync_versions: HashMap<SyncKey, SyncVersion> = rows
        .iter()
        .map(|r| ((r.get(0), r.get(1)), (r.get(2), r.get(3))))
        .collect();
    let (users, sample_ids): (Vec<Uuid>, Vec<Uuid>) = ids
        .iter()
        .copied()
        .chain(
            sync_versions
                .iter()
                .map(|((user, _), (_, id))| (*user, *id)),
        )
        .unzip();
    let rows = query(tx, INDEX_LOAD, &[&users, &sample_ids]).await?;
    let samples = rows
        .iter()
        .map(|r| {
            let entry = IndexEntry {
                sample_type: r.get(2),
                start: r.get(3),
                end: r.get(4),
                deleted: r.get(5),
            };
            ((r.get(0), r.get(1)), entry)
        })
        .collect();
    Ok(KnownState {
        samples,
        sync_versions,
    })
}

/// The column types of a binary COPY into `samples`, in [`SampleRow`]'s (and
/// `samples_copy.sql`'s) order; a COPY of fewer columns takes a prefix.
pub const SAMPLE_COLUMN_TYPES: [Type; 13] = [
    Type::UUID,
    Type::UUID,
    Type::UUID,
    Type::TEXT,
    Type::FLOAT8,
    Type::TIMESTAMPTZ,
    Type::TIMESTAMPTZ,
    Type::INT4,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::JSONB,
    Type::BYTEA,
];

/// Inserts new samples with binary COPY.
pub async fn copy_samples(tx: &Transaction<'_>, rows: &[SampleRow]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut copy = copy_in(tx, SAMPLES_COPY, &SAMPLE_COLUMN_TYPES).await?;
    for row in rows {
        let metadata = serde_json::to_value(&row.metadata).expect("a string map serialises");
        copy.write(&[
            &row.user_id,
            &row.sample_id,
            &row.device_id,
            &row.sample_type,
            &row.value,
            &row.start,
            &row.end,
            &row.utc_offset_seconds,
            &row.source_app,
            &row.sync_identifier,
            &row.sync_version,
            &metadata,
            &row.details,
        ])
        .await?;
    }
    copy.finish().await?;
    Ok(())
}

/// Deletes stored samples, each named by (user, sample id, start time).
pub async fn delete_samples(
    tx: &Transaction<'_>,
    samples: &[(Uuid, Uuid, DateTime<Utc>)],
) -> Result<(), StoreError> {
    let Some((first, last)) = super::time_bounds(samples.iter().map(|s| (s.2, s.2))) else {
        return Ok(());
    };
    let mut cols = (Vec::new(), Vec::new(), Vec::new());
    for (user, id, start) in samples {
        cols.0.push(*user);
        cols.1.push(*id);
        cols.2.push(*start);
    }
    execute(
        tx,
        SAMPLES_DELETE,
        &[&cols.0, &cols.1, &cols.2, &first, &last],
    )
    .await?;
    Ok(())
}

/// Inserts new index entries with binary COPY. The caller loaded every entry it mentions
/// under the partition's offset lock, so a new entry cannot exist yet: a conflict would be a
/// bug, and fails the batch rather than hiding it.
pub async fn copy_index(
    tx: &Transaction<'_>,
    entries: &[(Uuid, Uuid, IndexEntry)],
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let types = [
        Type::UUID,
        Type::UUID,
        Type::TEXT,
        Type::TIMESTAMPTZ,
        Type::TIMESTAMPTZ,
        Type::BOOL,
    ];
    let mut copy = copy_in(tx, INDEX_COPY, &types).await?;
    for (user, id, entry) in entries {
        copy.write(&[
            user,
            id,
            &entry.sample_type,
            &entry.start,
            &entry.end,
            &entry.deleted,
        ])
        .await?;
    }
    copy.finish().await?;
    Ok(())
}

/// Marks stored index entries deleted; entries only ever turn into tombstones.
pub async fn tombstone_index(tx: &Transaction<'_>, keys: &[SampleKey]) -> Result<(), StoreError> {
    if keys.is_empty() {
        return Ok(());
    }
    let (users, ids): (Vec<Uuid>, Vec<Uuid>) = keys.iter().copied().unzip();
    execute(tx, INDEX_TOMBSTONE, &[&users, &ids]).await?;
    Ok(())
}

/// Stores the new current versions of sync identifiers.
pub async fn upsert_sync_versions(
    tx: &Transaction<'_>,
    versions: &HashMap<SyncKey, SyncVersion>,
) -> Result<(), StoreError> {
    if versions.is_empty() {
        return Ok(());
    }
    let mut cols = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for ((user, sync), (version, id)) in versions {
        cols.0.push(*user);
        cols.1.push(sync.as_str());
        cols.2.push(*version);
        cols.3.push(*id);
    }
    execute(
        tx,
        SYNC_VERSIONS_UPSERT,
        &[&cols.0, &cols.1, &cols.2, &cols.3],
    )
    .await?;
    Ok(())
}

/// The span of stored samples per type of whole users (`device = None`: re-bucketing after a
/// zone change) or of single devices (re-ranking). Types this version does not know are left
/// out.
pub async fn spans(
    tx: &Transaction<'_>,
    targets: &[(Uuid, Option<Uuid>)],
) -> Result<Vec<SampleRange>, StoreError> {
    let (users, devices): (Vec<Uuid>, Vec<Option<Uuid>>) = targets.iter().copied().unzip();
    let rows = query(tx, SAMPLES_SPANS, &[&users, &devices]).await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let sample_type = r.get::<_, &str>(1).parse::<SampleType>().ok()?;
            Some(SampleRange {
                user: r.get(0),
                sample_type,
                from: r.get(2),
                to: r.get(3),
            })
        })
        .collect())
}

/// Every stored sample of each reach, in one query; keyed by the reach's index in `reaches`.
pub async fn load_ranges(
    tx: &Transaction<'_>,
    reaches: &[SampleReach],
) -> Result<HashMap<usize, Vec<Sample>>, StoreError> {
    let Some((first, last)) =
        super::time_bounds(reaches.iter().map(|r| (r.starts_from, r.starts_to)))
    else {
        return Ok(HashMap::new());
    };
    let mut cols = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for (index, reach) in reaches.iter().enumerate() {
        cols.0.push(index as i32);
        cols.1.push(reach.user);
        cols.2.push(reach.sample_type.as_str());
        cols.3.push(reach.starts_from);
        cols.4.push(reach.starts_to);
        cols.5.push(reach.ends_from);
    }
    let rows = query(
        tx,
        SAMPLES_IN_RANGES,
        &[
            &cols.0, &cols.1, &cols.2, &cols.3, &cols.4, &cols.5, &first, &last,
        ],
    )
    .await?;
    let mut out: HashMap<usize, Vec<Sample>> = HashMap::new();
    for r in &rows {
        let index = r.get::<_, i32>(0) as usize;
        let id: Uuid = r.get(1);
        let device: Uuid = r.get(2);
        out.entry(index).or_default().push(Sample {
            id: id.to_string(),
            device_id: device.to_string(),
            sample_type: reaches[index].sample_type,
            value: r.get(3),
            start: r.get(4),
            end: r.get(5),
        });
    }
    Ok(out)
}
