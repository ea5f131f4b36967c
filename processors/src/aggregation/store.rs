//! The aggregation projection's SQL: every read and write is one statement for the whole
//! batch (arrays through `unnest`, or binary COPY), never a round trip per row.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use deadpool_postgres::Transaction;
use futures::pin_mut;
use healthpipe_domain::{AggregateRow, DeviceRanking, Sample as DomainSample, SampleType};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;
use uuid::Uuid;

use super::plan::{IndexEntry, KnownState, Mentioned, Plan, Window};
use super::recompute::Chunk;

type Result<T> = std::result::Result<T, tokio_postgres::Error>;

/// The index entries of the sample ids the batch mentions and the current versions of its
/// sync identifiers. The index entries of the samples those versions point to are loaded too:
/// a higher version replaces (deletes) the current sample, which the batch does not mention
/// when it arrived in an earlier batch.
pub async fn load_known(tx: &Transaction<'_>, mentioned: &Mentioned) -> Result<KnownState> {
    let (sync_users, sync_ids): (Vec<Uuid>, Vec<String>) = mentioned.syncs.iter().cloned().unzip();
    let rows = tx
        .query(
            "SELECT v.user_id, v.sync_identifier, v.version, v.sample_id \
             FROM sync_versions v JOIN unnest($1::uuid[], $2::text[]) AS k(u, s) \
             ON v.user_id = k.u AND v.sync_identifier = k.s",
            &[&sync_users, &sync_ids],
        )
        .await?;
    let sync_versions: HashMap<(Uuid, String), (i64, Uuid)> = rows
        .iter()
        .map(|r| ((r.get(0), r.get(1)), (r.get(2), r.get(3))))
        .collect();
    let (users, sample_ids): (Vec<Uuid>, Vec<Uuid>) = mentioned
        .ids
        .iter()
        .copied()
        .chain(
            sync_versions
                .iter()
                .map(|((user, _), (_, id))| (*user, *id)),
        )
        .unzip();
    let rows = tx
        .query(
            "SELECT i.user_id, i.sample_id, i.sample_type, i.start_time, i.end_time, i.deleted \
             FROM sample_index i JOIN unnest($1::uuid[], $2::uuid[]) AS k(u, s) \
             ON i.user_id = k.u AND i.sample_id = k.s",
            &[&users, &sample_ids],
        )
        .await?;
    let samples = rows
        .iter()
        .map(|r| {
            let entry = IndexEntry {
                sample_type: r.get(2),
                start: r.get(3),
                end: r.get(4),
                deleted: r.get(5),
                new: false,
            };
            ((r.get(0), r.get(1)), entry)
        })
        .collect();
    Ok(KnownState {
        samples,
        sync_versions,
    })
}

/// Writes profiles, devices, samples, deletions, the sample index and sync versions.
pub async fn write_plan(tx: &Transaction<'_>, plan: &Plan) -> Result<()> {
    if !plan.profiles.is_empty() {
        let (users, zones): (Vec<Uuid>, Vec<String>) =
            plan.profiles.iter().map(|(u, z)| (*u, z.clone())).unzip();
        tx.execute(
            "INSERT INTO user_profiles (user_id, timezone) SELECT * FROM unnest($1::uuid[], $2::text[]) \
             ON CONFLICT (user_id) DO UPDATE SET timezone = EXCLUDED.timezone",
            &[&users, &zones],
        )
        .await?;
    }
    if !plan.devices.is_empty() {
        let mut cols = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for ((user, device), row) in &plan.devices {
            cols.0.push(*user);
            cols.1.push(*device);
            cols.2.push(row.device_type.clone());
            cols.3.push(row.priority);
            cols.4
                .push(serde_json::to_value(&row.type_priorities).expect("map serialises"));
        }
        tx.execute(
            "INSERT INTO device_rankings (user_id, device_id, device_type, priority, type_priorities) \
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::jsonb[]) \
             ON CONFLICT (user_id, device_id) DO UPDATE SET priority = EXCLUDED.priority, \
             type_priorities = EXCLUDED.type_priorities, \
             device_type = CASE WHEN EXCLUDED.device_type = '' THEN device_rankings.device_type ELSE EXCLUDED.device_type END",
            &[&cols.0, &cols.1, &cols.2, &cols.3, &cols.4],
        )
        .await?;
    }
    if !plan.deletes.is_empty() {
        let mut cols = (Vec::new(), Vec::new(), Vec::new());
        for (user, id, start) in &plan.deletes {
            cols.0.push(*user);
            cols.1.push(*id);
            cols.2.push(*start);
        }
        tx.execute(
            "DELETE FROM samples s USING unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS d(u, id, t) \
             WHERE s.user_id = d.u AND s.sample_id = d.id AND s.start_time = d.t",
            &[&cols.0, &cols.1, &cols.2],
        )
        .await?;
    }
    copy_samples(tx, plan).await?;
    write_index(tx, plan).await?;
    write_acknowledgements(tx, plan).await?;
    if !plan.sync_writes.is_empty() {
        let mut cols = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for ((user, sync), (version, id)) in &plan.sync_writes {
            cols.0.push(*user);
            cols.1.push(sync.clone());
            cols.2.push(*version);
            cols.3.push(*id);
        }
        tx.execute(
            "INSERT INTO sync_versions (user_id, sync_identifier, version, sample_id) \
             SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::uuid[]) \
             ON CONFLICT (user_id, sync_identifier) DO UPDATE SET version = EXCLUDED.version, sample_id = EXCLUDED.sample_id",
            &[&cols.0, &cols.1, &cols.2, &cols.3],
        )
        .await?;
    }
    Ok(())
}

async fn copy_samples(tx: &Transaction<'_>, plan: &Plan) -> Result<()> {
    if plan.inserts.is_empty() {
        return Ok(());
    }
    let sink = tx
        .copy_in(
            "COPY samples (user_id, sample_id, device_id, sample_type, value, start_time, end_time, \
             utc_offset_seconds, source_app, sync_identifier, sync_version, metadata) FROM STDIN BINARY",
        )
        .await?;
    let writer = BinaryCopyInWriter::new(
        sink,
        &[
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
        ],
    );
    pin_mut!(writer);
    for row in &plan.inserts {
        let s = &row.sample;
        let metadata = serde_json::to_value(&s.metadata).expect("map serialises");
        writer
            .as_mut()
            .write(&[
                &row.user_id,
                &row.sample_id,
                &row.device_id,
                &s.sample_type,
                &s.value,
                &row.start,
                &row.end,
                &s.utc_offset_seconds,
                &s.source_app,
                &s.sync_identifier,
                &s.sync_version,
                &metadata,
            ])
            .await?;
    }
    writer.finish().await?;
    Ok(())
}

/// New index entries go in with binary COPY: the batch loaded every entry it mentions under
/// the partition's offset lock, so an entry marked new cannot exist yet (a conflict would be
/// a bug, and fails the batch rather than hiding it). Stored entries only ever turn into
/// tombstones.
async fn write_index(tx: &Transaction<'_>, plan: &Plan) -> Result<()> {
    let (new, tombstones): (Vec<_>, Vec<_>) = plan
        .index_writes
        .iter()
        .partition(|(_, _, entry)| entry.new);
    if !tombstones.is_empty() {
        let (users, ids): (Vec<Uuid>, Vec<Uuid>) =
            tombstones.iter().map(|(u, id, _)| (*u, *id)).unzip();
        tx.execute(
            "UPDATE sample_index i SET deleted = true FROM unnest($1::uuid[], $2::uuid[]) AS d(u, id) \
             WHERE i.user_id = d.u AND i.sample_id = d.id",
            &[&users, &ids],
        )
        .await?;
    }
    if new.is_empty() {
        return Ok(());
    }
    let sink = tx
        .copy_in(
            "COPY sample_index (user_id, sample_id, sample_type, start_time, end_time, deleted) \
             FROM STDIN BINARY",
        )
        .await?;
    let writer = BinaryCopyInWriter::new(
        sink,
        &[
            Type::UUID,
            Type::UUID,
            Type::TEXT,
            Type::TIMESTAMPTZ,
            Type::TIMESTAMPTZ,
            Type::BOOL,
        ],
    );
    pin_mut!(writer);
    for (user, id, entry) in new {
        writer
            .as_mut()
            .write(&[
                user,
                id,
                &entry.sample_type,
                &entry.start,
                &entry.end,
                &entry.deleted,
            ])
            .await?;
    }
    writer.finish().await?;
    Ok(())
}

/// An acknowledgement already stored wins over a later one: acknowledging twice keeps the
/// first time.
async fn write_acknowledgements(tx: &Transaction<'_>, plan: &Plan) -> Result<()> {
    if plan.acknowledgements.is_empty() {
        return Ok(());
    }
    let mut cols = (Vec::new(), Vec::new(), Vec::new());
    for ((user, insight), at) in &plan.acknowledgements {
        cols.0.push(*user);
        cols.1.push(*insight);
        cols.2.push(*at);
    }
    tx.execute(
        "INSERT INTO insight_acknowledgements (user_id, insight_id, acknowledged_at) \
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) ON CONFLICT DO NOTHING",
        &[&cols.0, &cols.1, &cols.2],
    )
    .await?;
    Ok(())
}

/// The span of stored samples per type for whole users (re-bucketing) or single devices
/// (re-ranking); `device = None` means every device of the user.
pub async fn sample_spans(
    tx: &Transaction<'_>,
    targets: &[(Uuid, Option<Uuid>)],
) -> Result<Vec<(Uuid, String, Window)>> {
    let (users, devices): (Vec<Uuid>, Vec<Option<Uuid>>) = targets.iter().copied().unzip();
    let rows = tx
        .query(
            "SELECT t.u, s.sample_type, min(s.start_time), max(s.end_time) \
             FROM unnest($1::uuid[], $2::uuid[]) AS t(u, d) \
             JOIN samples s ON s.user_id = t.u AND (t.d IS NULL OR s.device_id = t.d) \
             GROUP BY t.u, s.sample_type",
            &[&users, &devices],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                Window {
                    from: r.get(2),
                    to: r.get(3),
                },
            )
        })
        .collect())
}

/// Time zones and device rankings of `users`.
pub async fn load_context(
    tx: &Transaction<'_>,
    users: &[Uuid],
) -> Result<(HashMap<Uuid, Tz>, HashMap<Uuid, DeviceRanking>)> {
    let rows = tx
        .query(
            "SELECT user_id, timezone FROM user_profiles WHERE user_id = ANY($1)",
            &[&users],
        )
        .await?;
    let zones = rows
        .iter()
        .map(|r| {
            let name: String = r.get(1);
            (r.get(0), name.parse::<Tz>().unwrap_or(Tz::UTC))
        })
        .collect();
    let rows = tx
        .query(
            "SELECT user_id, device_id, priority, type_priorities FROM device_rankings WHERE user_id = ANY($1)",
            &[&users],
        )
        .await?;
    let mut rankings: HashMap<Uuid, DeviceRanking> = HashMap::new();
    for r in &rows {
        let user: Uuid = r.get(0);
        let device: Uuid = r.get(1);
        let priority: i32 = r.get(2);
        let overrides: HashMap<String, i32> = serde_json::from_value(r.get(3)).unwrap_or_default();
        let ranking = rankings.entry(user).or_default();
        ranking.set_priority(device.to_string(), priority.into());
        for (sample_type, p) in overrides {
            if let Ok(t) = sample_type.parse::<SampleType>() {
                ranking.set_type_priority(device.to_string(), t, p.into());
            }
        }
    }
    Ok((zones, rankings))
}

/// Every stored sample of each chunk's (user, type) starting within its load range, in one
/// query; keyed by the chunk's index in `chunks`.
pub async fn load_samples(
    tx: &Transaction<'_>,
    chunks: &[Chunk],
) -> Result<HashMap<usize, Vec<DomainSample>>> {
    let mut cols = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (index, chunk) in chunks.iter().enumerate() {
        cols.0.push(index as i32);
        cols.1.push(chunk.user);
        cols.2.push(chunk.sample_type.as_str().to_string());
        cols.3.push(chunk.load_from);
        cols.4.push(chunk.load_to);
    }
    let rows = tx
        .query(
            "SELECT w.i, s.sample_id, s.device_id, s.value, s.start_time, s.end_time \
             FROM unnest($1::int[], $2::uuid[], $3::text[], $4::timestamptz[], $5::timestamptz[]) AS w(i, u, t, f, e) \
             JOIN LATERAL (SELECT sample_id, device_id, value, start_time, end_time FROM samples \
                 WHERE user_id = w.u AND sample_type = w.t AND start_time >= w.f AND start_time < w.e) s ON true",
            &[&cols.0, &cols.1, &cols.2, &cols.3, &cols.4],
        )
        .await?;
    let mut out: HashMap<usize, Vec<DomainSample>> = HashMap::new();
    for r in &rows {
        let index = r.get::<_, i32>(0) as usize;
        let id: Uuid = r.get(1);
        let device: Uuid = r.get(2);
        out.entry(index).or_default().push(DomainSample {
            id: id.to_string(),
            device_id: device.to_string(),
            sample_type: chunks[index].sample_type,
            value: r.get(3),
            start: r.get(4),
            end: r.get(5),
        });
    }
    Ok(out)
}

/// A range of buckets of one user, type and period whose rows are replaced.
pub struct Replace {
    pub user: Uuid,
    pub sample_type: SampleType,
    pub period: &'static str,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// A stored aggregate row: (user, type, period, period start) → (value, min, max, count).
pub type StoredRow = ((Uuid, String, String, DateTime<Utc>), (f64, f64, f64, i32));

/// Deletes the rows in every replaced range and returns them, so the caller can tell which
/// buckets really changed once the new rows are written (`copy_aggregates`).
pub async fn delete_aggregates(
    tx: &Transaction<'_>,
    ranges: &[&Replace],
) -> Result<Vec<StoredRow>> {
    let mut cols = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in ranges {
        cols.0.push(r.user);
        cols.1.push(r.sample_type.as_str().to_string());
        cols.2.push(r.period.to_string());
        cols.3.push(r.from);
        cols.4.push(r.to);
    }
    let deleted = tx
        .query(
            "DELETE FROM aggregates a USING unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[]) \
             AS d(u, t, p, f, e) WHERE a.user_id = d.u AND a.sample_type = d.t AND a.period = d.p \
             AND a.period_start >= d.f AND a.period_start < d.e \
             RETURNING a.user_id, a.sample_type, a.period, a.period_start, a.value, a.min_value, a.max_value, a.sample_count",
            &[&cols.0, &cols.1, &cols.2, &cols.3, &cols.4],
        )
        .await?;
    Ok(deleted
        .iter()
        .map(|r| {
            (
                (r.get(0), r.get(1), r.get(2), r.get(3)),
                (r.get(4), r.get(5), r.get(6), r.get(7)),
            )
        })
        .collect())
}

/// Writes aggregate rows with binary COPY.
pub async fn copy_aggregates(tx: &Transaction<'_>, rows: &[(Uuid, AggregateRow)]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let sink = tx
        .copy_in(
            "COPY aggregates (user_id, sample_type, period, period_start, value, min_value, max_value, sample_count, \
             coverage, device_count) FROM STDIN BINARY",
        )
        .await?;
    let writer = BinaryCopyInWriter::new(
        sink,
        &[
            Type::UUID,
            Type::TEXT,
            Type::TEXT,
            Type::TIMESTAMPTZ,
            Type::FLOAT8,
            Type::FLOAT8,
            Type::FLOAT8,
            Type::INT4,
            Type::FLOAT8,
            Type::INT4,
        ],
    );
    pin_mut!(writer);
    for (user, row) in rows {
        let count = row.sample_count as i32;
        let devices = row.device_count as i32;
        writer
            .as_mut()
            .write(&[
                user,
                &row.sample_type.as_str(),
                &row.period.as_str(),
                &row.period_start,
                &row.value,
                &row.min_value,
                &row.max_value,
                &count,
                &row.coverage,
                &devices,
            ])
            .await?;
    }
    writer.finish().await?;
    Ok(())
}
