//! `healthpipe archive`: the cold tier. Old months of `samples` and `aggregates` go to
//! Parquet files under `ARCHIVE_URL` (see the `healthpipe-archive` crate for the layout),
//! recorded in the manifest tables of migration `0015_archive`.
//!
//! A run (under an advisory lock, one at a time, unless it is a dry run):
//!
//! 1. deletes the files of months that ended before the raw-data retention horizon (seven
//!    years), then forgets them;
//! 2. reads the pending erasures: every partition with a file holding a row of an erased user
//!    is rewritten below, whatever else changed, and every write of the run drops their rows;
//! 3. for each calendar month (UTC) that ended more than `ARCHIVE_AFTER_DAYS` ago and that
//!    the hot tier still has chunks of (or that holds an erased user), in one repeatable-read
//!    snapshot per month and relation: compares each sample type's fingerprint (row count and
//!    sum of row hashes) with the one recorded when the partition was last written, and
//!    rewrites only the partitions that differ (new months, late data, recomputed aggregates,
//!    deletions, erasures);
//! 4. removes the erasures it applied.
//!
//! **Cost of noticing changes.** Step 3 scans every archivable month still in the hot tier
//! once per run (a grouped count and hash sum: about one read of the month), changed or not;
//! unchanged months cost nothing more. With retention dropping archived months from the hot
//! tier, that is the months between `ARCHIVE_AFTER_DAYS` and the hot retention. Months whose
//! chunks were all dropped cost nothing: they are not looked at until late rows bring a chunk
//! back or an erasure names them.
//!
//! **Rewrites and retention.** A partition records its time ranges: the chunks that held it
//! when it was written. A chunk gone since was dropped by retention: its range is *cold*, the
//! files alone hold its rows. A rewrite merges, in key order, the database's rows with the
//! archived rows of cold ranges (late rows join the archived ones; the database wins on a
//! key in both) and takes everything else from the database alone, so deletions there reach
//! the archive. A sample deleted after its chunk was dropped stays in the archive.
//!
//! **Crash safety.** Each part file is put whole under a new name, then the new files replace
//! the old ones in the manifest in one transaction, then the old files (and any leftover of a
//! run that stopped halfway) are deleted from the partition's folder. A reader sees no
//! duplicate once the run is over; during the run, one partition at a time can show its old
//! and new files together for the moment between the two steps.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use healthpipe_archive::layout::{self, archivable_before};
use healthpipe_archive::merge::Dropped;
use healthpipe_archive::{
    is_beyond_raw_data_retention, raw_data_retention_horizon, AggregateRecord, ArchiveStore,
    ArchivedRows, Keep, Merger, Month, PartLimits, PartWriter, Path, Record, SampleRecord, Side,
    WrittenPart,
};
use healthpipe_storage::archive::{
    self as hot, manifest, AggregateRow, Chunk, Fingerprint, MonthState, NewFile, PartitionKey,
    Relation, RowStream, SampleRow, Segment, Snapshot,
};
use healthpipe_storage::pool::Client;
use healthpipe_storage::StoreError;
use uuid::Uuid;

/// Rows fetched from PostgreSQL per round trip.
const FETCH_ROWS: i32 = 10_000;

#[derive(Debug, Clone, clap::Args)]
pub struct ArchiveArgs {
    /// Report what would be written and deleted; write, delete and record nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub settings: ArchiveSettings,
}

/// The archive's settings, from the environment.
#[derive(Debug, Clone, clap::Args)]
pub struct ArchiveSettings {
    /// The database whose projections are archived; the manifest lives there too.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true,
          value_parser = healthpipe_config::database_url)]
    pub database_url: String,
    /// Where the files go: `file:///abs/dir`, or `s3://bucket/prefix` with the credentials,
    /// region and endpoint in the usual `AWS_*` variables.
    #[arg(long, env = "ARCHIVE_URL", value_parser = archive_url)]
    pub archive_url: String,
    /// Days after its end at which a calendar month (UTC) goes to the cold tier.
    #[arg(long, env = "ARCHIVE_AFTER_DAYS", default_value_t = 90)]
    pub archive_after_days: u32,
    /// Rows per Parquet file at most: a bigger partition is split into numbered parts. It
    /// bounds a run's memory (a million sample rows encode to about 60 MB).
    #[arg(long, env = "ARCHIVE_PART_ROWS", default_value_t = 1_000_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub part_rows: u32,
}

fn archive_url(text: &str) -> Result<String, String> {
    ArchiveStore::check(text)
        .map(|()| text.to_string())
        .map_err(|e| e.to_string())
}

/// What a run did (or, dry, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub dry_run: bool,
    /// Partitions written (new, changed or with erased users); dry: to write.
    pub partitions_written: u64,
    pub files_written: u64,
    /// Rows in the files written; dry: the database's rows of the partitions to write.
    pub rows_written: u64,
    pub bytes_written: u64,
    /// Partitions whose fingerprint had not changed.
    pub partitions_unchanged: u64,
    /// Partitions whose chunks were all dropped: recorded as cold, files kept as they are.
    pub partitions_cold: u64,
    /// Old parts and leftovers deleted after rewrites, and files past the horizon.
    pub files_deleted: u64,
    /// Partitions past the raw-data retention horizon, deleted.
    pub partitions_expired: u64,
    /// Pending erasures applied (users).
    pub erasures_applied: u64,
    /// Archived rows of erased users dropped from the files.
    pub erased_rows_dropped: u64,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.dry_run {
            writeln!(
                f,
                "archive summary (dry run: nothing written, deleted or recorded)"
            )?;
        } else {
            writeln!(f, "archive summary")?;
        }
        let lines = [
            ("partitions written", self.partitions_written),
            ("files written", self.files_written),
            ("rows written", self.rows_written),
            ("bytes written", self.bytes_written),
            ("partitions unchanged", self.partitions_unchanged),
            ("partitions cold", self.partitions_cold),
            ("files deleted", self.files_deleted),
            ("partitions expired", self.partitions_expired),
            ("erasures applied", self.erasures_applied),
            ("erased rows dropped", self.erased_rows_dropped),
        ];
        for (name, value) in lines {
            writeln!(f, "  {name}: {value}")?;
        }
        Ok(())
    }
}

/// Runs the archive once; see the module's documentation.
pub async fn run(args: ArchiveArgs) -> Result<Summary> {
    let settings = &args.settings;
    let pool = healthpipe_storage::connect(&settings.database_url, 2)?;
    let writer = pool.get().await.context("connecting to the database")?;
    let mut reader = pool.get().await.context("connecting to the database")?;
    hot::long_reads(&reader).await?;
    let store = match args.dry_run {
        true => None,
        false => Some(ArchiveStore::open(&settings.archive_url)?),
    };
    if !args.dry_run && !manifest::try_lock_run(&writer).await? {
        bail!("another `healthpipe archive` is running on this database");
    }
    let mut run = Run {
        now: Utc::now(),
        after_days: settings.archive_after_days,
        limits: PartLimits::new(settings.part_rows as usize),
        store,
        writer,
        erased: HashSet::new(),
        summary: Summary {
            dry_run: args.dry_run,
            ..Summary::default()
        },
    };
    let result = run.all(&mut reader).await;
    if !args.dry_run {
        manifest::unlock_run(&run.writer).await?;
    }
    result.map(|()| run.summary)
}

/// One run's state. The hot tier's snapshots are read on a second connection, passed along.
struct Run {
    now: DateTime<Utc>,
    after_days: u32,
    limits: PartLimits,
    /// `None` on a dry run.
    store: Option<ArchiveStore>,
    /// Manifest reads and writes.
    writer: Client,
    /// Users whose rows no write of this run keeps.
    erased: HashSet<Uuid>,
    summary: Summary,
}

/// A relation's record type with the database side of it.
trait Archived: Record {
    type Row;
    const TABLE: Relation;

    /// The month's rows of `sample_type` in the snapshot, in key order.
    async fn rows<'t>(
        tx: &'t Snapshot<'t>,
        sample_type: &str,
        month: Month,
    ) -> Result<RowStream<'t, Self::Row>, StoreError>;

    fn from_row(row: Self::Row) -> Self;
}

impl Archived for SampleRecord {
    type Row = SampleRow;
    const TABLE: Relation = Relation::Samples;

    async fn rows<'t>(
        tx: &'t Snapshot<'t>,
        sample_type: &str,
        month: Month,
    ) -> Result<RowStream<'t, SampleRow>, StoreError> {
        RowStream::samples(tx, sample_type, month.start(), month.end(), FETCH_ROWS).await
    }

    fn from_row(row: SampleRow) -> Self {
        SampleRecord {
            user_id: row.user_id,
            sample_id: row.sample_id,
            device_id: row.device_id,
            start_time: row.start_time,
            end_time: row.end_time,
            utc_offset_seconds: row.utc_offset_seconds,
            value: row.value,
            counted_fraction: row.counted_fraction,
            source_app: row.source_app,
            sync_identifier: row.sync_identifier,
            sync_version: row.sync_version,
            metadata: row.metadata.to_string(),
            details: row.details,
        }
    }
}

impl Archived for AggregateRecord {
    type Row = AggregateRow;
    const TABLE: Relation = Relation::Aggregates;

    async fn rows<'t>(
        tx: &'t Snapshot<'t>,
        sample_type: &str,
        month: Month,
    ) -> Result<RowStream<'t, AggregateRow>, StoreError> {
        RowStream::aggregates(tx, sample_type, month.start(), month.end(), FETCH_ROWS).await
    }

    fn from_row(row: AggregateRow) -> Self {
        AggregateRecord {
            user_id: row.user_id,
            period: row.period,
            period_start: row.period_start,
            value: row.value,
            min_value: row.min_value,
            max_value: row.max_value,
            sample_count: row.sample_count,
            coverage: row.coverage,
            device_count: row.device_count,
        }
    }
}

/// What to do with one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    /// The hot tier holds what the files were written from, and nobody in them is erased.
    Unchanged,
    /// Every chunk that held it is gone and the database has none of its rows: the files are
    /// all there is, and stay; only the manifest's record of the partition changes.
    Cold,
    /// New, changed, or holding an erased user: written again.
    Write,
}

fn decide(
    state: Option<&MonthState>,
    hot: &Fingerprint,
    holds_erased: bool,
    chunks: &[Chunk],
) -> Decision {
    let recorded = state.map_or_else(Fingerprint::empty, |s| s.fingerprint.clone());
    if !holds_erased && *hot == recorded {
        return Decision::Unchanged;
    }
    let Some(state) = state else {
        return Decision::Write;
    };
    let still_hot = state
        .segments
        .iter()
        .filter_map(|s| s.chunk.as_deref())
        .any(|name| chunks.iter().any(|c| c.name == name));
    if !holds_erased && hot.rows == 0 && !still_hot {
        Decision::Cold
    } else {
        Decision::Write
    }
}

/// The partition's time ranges as of now: its cold ranges (the recorded ones, and those of
/// recorded chunks dropped since), then the chunks holding the month now.
fn segments_now(state: Option<&MonthState>, chunks: &[Chunk]) -> Vec<Segment> {
    let recorded = state.map(|s| s.segments.as_slice()).unwrap_or_default();
    let cold: BTreeSet<(DateTime<Utc>, DateTime<Utc>)> = recorded
        .iter()
        .filter(|s| match &s.chunk {
            None => true,
            Some(name) => !chunks.iter().any(|c| &c.name == name),
        })
        .map(|s| (s.start, s.end))
        .collect();
    let cold = cold.into_iter().map(|(start, end)| Segment {
        start,
        end,
        chunk: None,
    });
    let hot = chunks.iter().map(|c| Segment {
        start: c.start,
        end: c.end,
        chunk: Some(c.name.clone()),
    });
    cold.chain(hot).collect()
}

fn cold_ranges(segments: &[Segment]) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    segments
        .iter()
        .filter(|s| s.chunk.is_none())
        .map(|s| (s.start, s.end))
        .collect()
}

impl Run {
    async fn all(&mut self, reader: &mut Client) -> Result<()> {
        self.expire().await?;
        let pending = manifest::pending_erasures(&self.writer).await?;
        self.erased = pending.iter().map(|e| e.user_id).collect();
        let users: Vec<Uuid> = self.erased.iter().copied().collect();
        let holding: HashSet<PartitionKey> = manifest::months_holding(&self.writer, &users)
            .await?
            .into_iter()
            .collect();
        let mut archived: BTreeMap<(Relation, Month), Vec<String>> = BTreeMap::new();
        for key in manifest::all_months(&self.writer).await? {
            let month = Month::starting(key.month).context("a stored month")?;
            archived
                .entry((key.relation, month))
                .or_default()
                .push(key.sample_type);
        }
        for month in self.months(reader, &holding).await? {
            for relation in Relation::ALL {
                let types = archived.remove(&(relation, month)).unwrap_or_default();
                match relation {
                    Relation::Samples => {
                        self.month::<SampleRecord>(reader, month, &types, &holding)
                            .await?
                    }
                    Relation::Aggregates => {
                        self.month::<AggregateRecord>(reader, month, &types, &holding)
                            .await?
                    }
                }
            }
        }
        self.summary.erasures_applied = match self.summary.dry_run {
            true => pending.len() as u64,
            false => {
                let left = manifest::months_holding(&self.writer, &users).await?;
                if let Some(key) = left.first() {
                    bail!(
                        "{} archived partitions still hold erased users after the run \
                         (first: {} {} {}); the erasures stay pending",
                        left.len(),
                        key.relation,
                        key.sample_type,
                        key.month
                    );
                }
                manifest::erasures_applied(&self.writer, &pending).await?
            }
        };
        Ok(())
    }

    /// Step 1: the partitions past the retention horizon go, files first.
    async fn expire(&mut self) -> Result<()> {
        for key in manifest::all_months(&self.writer).await? {
            let month = Month::starting(key.month).context("a stored month")?;
            if !is_beyond_raw_data_retention(month, self.now) {
                continue;
            }
            let deleted = match &self.store {
                None => manifest::month_state(&self.writer, &key)
                    .await?
                    .map_or(0, |s| s.files.len() as u64),
                Some(store) => {
                    let folder = layout::partition(key.relation.as_str(), &key.sample_type, month)?;
                    let objects = store.list(&folder).await?;
                    for object in &objects {
                        store.delete(&object.location).await?;
                    }
                    manifest::forget_month(&self.writer, &key).await?;
                    objects.len() as u64
                }
            };
            tracing::info!(relation = %key.relation, sample_type = %key.sample_type,
                month = %month, files = deleted,
                horizon = %raw_data_retention_horizon(self.now),
                "archive: partition past the raw-data retention deleted");
            self.summary.files_deleted += deleted;
            self.summary.partitions_expired += 1;
        }
        Ok(())
    }

    /// The months to look at, oldest first: the archivable months the hot tier has chunks
    /// of, and the months holding an erased user (whatever their age now).
    async fn months(&self, reader: &Client, holding: &HashSet<PartitionKey>) -> Result<Vec<Month>> {
        let before = archivable_before(self.now, self.after_days);
        let from = Month::of(raw_data_retention_horizon(self.now)).start();
        let mut months = BTreeSet::new();
        for relation in Relation::ALL {
            for chunk in hot::chunks(reader, relation, from, before).await? {
                months.extend(
                    Month::overlapping(chunk.start, chunk.end)
                        .into_iter()
                        .filter(|m| {
                            layout::is_archivable(*m, self.now, self.after_days)
                                && !is_beyond_raw_data_retention(*m, self.now)
                        }),
                );
            }
        }
        months.extend(holding.iter().filter_map(|key| Month::starting(key.month)));
        Ok(months.into_iter().collect())
    }

    /// Step 3 for one month of one relation, in one snapshot: every sample type the database
    /// has rows of, or the manifest a partition of.
    async fn month<R: Archived>(
        &mut self,
        reader: &mut Client,
        month: Month,
        archived_types: &[String],
        holding: &HashSet<PartitionKey>,
    ) -> Result<()> {
        let relation = R::TABLE;
        let tx = hot::snapshot(reader).await?;
        let chunks = hot::chunks(&tx, relation, month.start(), month.end()).await?;
        let fingerprints = hot::fingerprints(&tx, relation, month.start(), month.end()).await?;
        // A month younger than ARCHIVE_AFTER_DAYS (set higher since it was archived) is here
        // for an erasure: only its archived partitions are looked at, no new one is started.
        let new_types = match layout::is_archivable(month, self.now, self.after_days) {
            true => fingerprints.keys().collect(),
            false => Vec::new(),
        };
        let types: BTreeSet<&String> = new_types.into_iter().chain(archived_types).collect();
        for sample_type in types {
            let key = PartitionKey {
                relation,
                sample_type: sample_type.clone(),
                month: month.first_day(),
            };
            let hot = fingerprints
                .get(sample_type)
                .cloned()
                .unwrap_or_else(Fingerprint::empty);
            let holds_erased = holding.contains(&key);
            self.partition::<R>(&tx, &key, month, &hot, holds_erased, &chunks)
                .await
                .with_context(|| format!("{relation} {sample_type} {month}"))?;
        }
        tx.commit()
            .await
            .map_err(|e| StoreError::from_postgres("commit", &e))?;
        Ok(())
    }

    /// One partition: decided, then written, recorded as cold, or left alone.
    async fn partition<R: Archived>(
        &mut self,
        tx: &Snapshot<'_>,
        key: &PartitionKey,
        month: Month,
        hot: &Fingerprint,
        holds_erased: bool,
        chunks: &[Chunk],
    ) -> Result<()> {
        let state = manifest::month_state(&self.writer, key).await?;
        let decision = decide(state.as_ref(), hot, holds_erased, chunks);
        let segments = segments_now(state.as_ref(), chunks);
        let (relation, sample_type) = (key.relation.as_str(), key.sample_type.as_str());
        match (decision, &self.store) {
            (Decision::Unchanged, _) => {
                tracing::info!(relation, sample_type, month = %month, rows = hot.rows,
                    "archive: partition unchanged");
                self.summary.partitions_unchanged += 1;
            }
            (Decision::Cold, _) => {
                if self.store.is_some() {
                    manifest::record_cold(&mut self.writer, key, hot, &segments).await?;
                }
                tracing::info!(relation, sample_type, month = %month,
                    "archive: partition cold (its chunks were dropped), files kept");
                self.summary.partitions_cold += 1;
            }
            (Decision::Write, None) => {
                tracing::info!(relation, sample_type, month = %month, rows = hot.rows,
                    holds_erased, "archive: partition to write (dry run)");
                self.summary.partitions_written += 1;
                self.summary.rows_written += hot.rows as u64;
            }
            (Decision::Write, Some(store)) => {
                let store = store.clone();
                let keep = Keep {
                    erased: self.erased.clone(),
                    cold: cold_ranges(&segments),
                };
                let files = state.map(|s| s.files).unwrap_or_default();
                let (parts, dropped) = self
                    .write::<R>(&store, tx, key, month, &files, keep)
                    .await?;
                let new_files: Vec<NewFile> = parts.iter().map(new_file).collect();
                manifest::record_month(&mut self.writer, key, hot, &segments, &new_files).await?;
                let deleted = self.clean(&store, key, month, &parts).await?;
                let rows: u64 = parts.iter().map(|p| p.rows).sum();
                let bytes: u64 = parts.iter().map(|p| p.bytes).sum();
                tracing::info!(relation, sample_type, month = %month, rows, bytes,
                    files = parts.len(), replaced = deleted, erased_rows = dropped.erased,
                    "archive: partition written");
                self.summary.partitions_written += 1;
                self.summary.files_written += parts.len() as u64;
                self.summary.rows_written += rows;
                self.summary.bytes_written += bytes;
                self.summary.files_deleted += deleted;
                self.summary.erased_rows_dropped += dropped.erased;
            }
        }
        Ok(())
    }

    /// Writes the partition's parts: the database's rows merged with the archived rows the
    /// cold ranges keep. A failure deletes the parts already written.
    async fn write<R: Archived>(
        &self,
        store: &ArchiveStore,
        tx: &Snapshot<'_>,
        key: &PartitionKey,
        month: Month,
        files: &[manifest::ArchivedFile],
        keep: Keep,
    ) -> Result<(Vec<WrittenPart>, Dropped)> {
        let folder = layout::partition(R::RELATION, &key.sample_type, month)?;
        let mut writer =
            PartWriter::<R>::new(store, folder, layout::write_id(self.now), self.limits);
        let mut merger = Merger::<R>::new(keep);
        let mut archived =
            ArchivedRows::<R>::new(store, files.iter().map(|f| Path::from(f.path.as_str())));
        let result = async {
            let mut rows = R::rows(tx, &key.sample_type, month).await?;
            loop {
                while let Some(side) = merger.wants() {
                    let batch = match side {
                        Side::Archived => archived.next_batch().await?,
                        Side::Source => rows
                            .next_batch()
                            .await?
                            .map(|batch| batch.into_iter().map(R::from_row).collect()),
                    };
                    merger.feed(side, batch)?;
                }
                match merger.take() {
                    Some(row) => writer.push(row).await?,
                    None => return Ok(writer.finish().await?),
                }
            }
        }
        .await;
        match result {
            Ok(parts) => Ok((parts, merger.dropped())),
            Err(error) => {
                for part in writer.written() {
                    if let Err(e) = store.delete(&part.path).await {
                        tracing::warn!(path = %part.path, error = %e,
                            "archive: a part of a failed write could not be deleted");
                    }
                }
                Err(error)
            }
        }
    }

    /// Deletes every object in the partition's folder but the new parts: the files they
    /// replaced, and leftovers of a run that stopped halfway. Returns how many went.
    async fn clean(
        &self,
        store: &ArchiveStore,
        key: &PartitionKey,
        month: Month,
        parts: &[WrittenPart],
    ) -> Result<u64> {
        let folder = layout::partition(key.relation.as_str(), &key.sample_type, month)?;
        let keep: HashSet<&Path> = parts.iter().map(|p| &p.path).collect();
        let mut deleted = 0;
        for object in store.list(&folder).await? {
            if !keep.contains(&object.location) {
                store.delete(&object.location).await?;
                deleted += 1;
            }
        }
        Ok(deleted)
    }
}

fn new_file(part: &WrittenPart) -> NewFile {
    NewFile {
        path: part.path.to_string(),
        part: part.part as i32,
        rows: part.rows as i64,
        bytes: part.bytes as i64,
        sha256: part.sha256.clone(),
        users: part.users.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, d, 0, 0, 0).unwrap()
    }

    fn chunk(name: &str, from: u32, to: u32) -> Chunk {
        Chunk {
            name: name.into(),
            start: day(from),
            end: day(to),
        }
    }

    fn fingerprint(rows: i64, sum: &str) -> Fingerprint {
        Fingerprint {
            rows,
            sum: sum.into(),
        }
    }

    /// A partition written when chunks `a` (days 1-8) and `b` (8-15) held it, with a cold
    /// range (days 15-22) from an earlier drop.
    fn state() -> MonthState {
        MonthState {
            fingerprint: fingerprint(10, "123"),
            segments: vec![
                Segment {
                    start: day(15),
                    end: day(22),
                    chunk: None,
                },
                Segment {
                    start: day(1),
                    end: day(8),
                    chunk: Some("a".into()),
                },
                Segment {
                    start: day(8),
                    end: day(15),
                    chunk: Some("b".into()),
                },
            ],
            files: Vec::new(),
        }
    }

    #[test]
    fn a_partition_is_written_when_new_changed_or_holding_an_erased_user() {
        let chunks = [chunk("a", 1, 8), chunk("b", 8, 15)];
        let state = state();
        assert_eq!(
            decide(None, &fingerprint(0, "0"), false, &chunks),
            Decision::Unchanged
        );
        assert_eq!(
            decide(None, &fingerprint(3, "9"), false, &chunks),
            Decision::Write
        );
        let same = fingerprint(10, "123");
        assert_eq!(
            decide(Some(&state), &same, false, &chunks),
            Decision::Unchanged
        );
        assert_eq!(decide(Some(&state), &same, true, &chunks), Decision::Write);
        // Same count, other rows (a replaced sample): written.
        let other = fingerprint(10, "456");
        assert_eq!(
            decide(Some(&state), &other, false, &chunks),
            Decision::Write
        );
        // Nothing left in the database while a recorded chunk is still there: rows were
        // deleted, the files must follow.
        let empty = Fingerprint::empty();
        assert_eq!(
            decide(Some(&state), &empty, false, &chunks),
            Decision::Write
        );
        // Nothing left because every recorded chunk was dropped: the files stay.
        let later = [chunk("c", 22, 29)];
        assert_eq!(decide(Some(&state), &empty, false, &later), Decision::Cold);
        assert_eq!(decide(Some(&state), &empty, true, &later), Decision::Write);
    }

    #[test]
    fn dropped_chunks_become_cold_ranges_and_stay_cold() {
        // `a` was dropped; `b` is still there; `c` is new (late rows).
        let chunks = [chunk("b", 8, 15), chunk("c", 1, 8)];
        let state = state();
        let segments = segments_now(Some(&state), &chunks);
        assert_eq!(
            cold_ranges(&segments),
            [(day(1), day(8)), (day(15), day(22))]
        );
        let hot: Vec<&str> = segments.iter().filter_map(|s| s.chunk.as_deref()).collect();
        assert_eq!(hot, ["b", "c"]);
        // A new partition has no cold range.
        assert!(cold_ranges(&segments_now(None, &chunks)).is_empty());
    }
}
