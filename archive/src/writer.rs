//! Rows into numbered part files of bounded size.
//!
//! A part is encoded in memory and put whole under its final name (one PUT: atomic on local
//! files and on S3), so a reader never sees half a file and a crash leaves whole files only.
//! Memory holds at most one part's encoded bytes plus one row group being encoded: a month of
//! any size is split into parts of [`PartLimits::part_rows`] rows.

use std::collections::BTreeSet;

use bytes::Bytes;
use object_store::path::Path;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::layout::part_path;
use crate::{ArchiveError, ArchiveStore, Record};

/// Rows handed to the Parquet encoder at a time.
const BATCH_ROWS: usize = 8192;

/// How big files and row groups get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartLimits {
    /// Rows per part file at most. A million sample rows encode to roughly 50 to 70 MB.
    pub part_rows: usize,
    /// Rows per row group at most: what a reader decodes at a time.
    pub row_group_rows: usize,
}

impl PartLimits {
    /// `part_rows` per file (at least 1), row groups of up to 65,536 rows.
    pub fn new(part_rows: usize) -> PartLimits {
        let part_rows = part_rows.max(1);
        PartLimits {
            part_rows,
            row_group_rows: part_rows.min(65_536),
        }
    }
}

/// A part file as written: what the manifest records of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenPart {
    /// Relative to the archive's root.
    pub path: Path,
    pub part: u32,
    pub rows: u64,
    pub bytes: u64,
    /// SHA-256 of the file's bytes, hex: the content fingerprint.
    pub sha256: String,
    /// Every user with a row in the file, so an erasure finds the files to rewrite.
    pub users: Vec<Uuid>,
}

/// Writes one partition's rows, in the order given, as parts `part-00000-<write id>`, ...
pub struct PartWriter<'a, R: Record> {
    store: &'a ArchiveStore,
    partition: Path,
    write_id: String,
    limits: PartLimits,
    pending: Vec<R>,
    encoder: Option<ArrowWriter<Vec<u8>>>,
    rows_in_part: usize,
    users: BTreeSet<Uuid>,
    written: Vec<WrittenPart>,
}

impl<'a, R: Record> PartWriter<'a, R> {
    pub fn new(
        store: &'a ArchiveStore,
        partition: Path,
        write_id: String,
        limits: PartLimits,
    ) -> Self {
        PartWriter {
            store,
            partition,
            write_id,
            limits,
            pending: Vec::with_capacity(BATCH_ROWS.min(limits.part_rows)),
            encoder: None,
            rows_in_part: 0,
            users: BTreeSet::new(),
            written: Vec::new(),
        }
    }

    /// Adds a row; writes out the part when it is full.
    pub async fn push(&mut self, row: R) -> Result<(), ArchiveError> {
        self.users.insert(row.user_id());
        self.pending.push(row);
        if self.rows_in_part + self.pending.len() >= self.limits.part_rows {
            self.finish_part().await
        } else if self.pending.len() >= BATCH_ROWS {
            self.encode_pending()
        } else {
            Ok(())
        }
    }

    /// The parts written so far (to clean up after a failure).
    pub fn written(&self) -> &[WrittenPart] {
        &self.written
    }

    /// Writes out the last part; returns every part written, in order. After a failure,
    /// [`Self::written`] still lists the parts that made it to the store.
    pub async fn finish(&mut self) -> Result<Vec<WrittenPart>, ArchiveError> {
        self.finish_part().await?;
        Ok(std::mem::take(&mut self.written))
    }

    fn properties(&self) -> WriterProperties {
        WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(self.limits.row_group_rows))
            .set_created_by("healthpipe archive".into())
            .build()
    }

    fn encode_pending(&mut self) -> Result<(), ArchiveError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = R::to_batch(&self.pending)?;
        let encoder = match self.encoder.as_mut() {
            Some(encoder) => encoder,
            None => {
                let encoder =
                    ArrowWriter::try_new(Vec::new(), R::schema(), Some(self.properties()))?;
                self.encoder.insert(encoder)
            }
        };
        encoder.write(&batch)?;
        self.rows_in_part += self.pending.len();
        self.pending.clear();
        Ok(())
    }

    async fn finish_part(&mut self) -> Result<(), ArchiveError> {
        self.encode_pending()?;
        let Some(encoder) = self.encoder.take() else {
            return Ok(());
        };
        let bytes = Bytes::from(encoder.into_inner()?);
        let part = u32::try_from(self.written.len()).expect("fewer than 4 billion parts");
        let path = part_path(&self.partition, part, &self.write_id);
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let size = bytes.len() as u64;
        self.store.put(&path, bytes).await?;
        self.written.push(WrittenPart {
            path,
            part,
            rows: self.rows_in_part as u64,
            bytes: size,
            sha256,
            users: std::mem::take(&mut self.users).into_iter().collect(),
        });
        self.rows_in_part = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{partition, write_id};
    use crate::record::fixtures::sample;
    use crate::{ArchivedRows, Month, SampleRecord};

    /// A scratch folder, removed when dropped.
    struct Scratch(std::path::PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[tokio::test]
    async fn a_month_is_split_into_bounded_parts_that_read_back_in_order() {
        let scratch = Scratch(std::env::temp_dir().join(format!("archive-{}", Uuid::new_v4())));
        let store = ArchiveStore::open(&format!("file://{}", scratch.0.display())).unwrap();
        let rows: Vec<SampleRecord> = (0..7).map(|m| sample(1 + u128::from(m / 3), m)).collect();
        let month = Month::of(rows[0].start_time);
        let folder = partition("samples", "STEPS", month).unwrap();
        let id = write_id(chrono::Utc::now());
        let mut writer = PartWriter::new(&store, folder.clone(), id.clone(), PartLimits::new(3));
        for row in rows.clone() {
            writer.push(row).await.unwrap();
        }
        let parts = writer.finish().await.unwrap();

        let counts: Vec<u64> = parts.iter().map(|p| p.rows).collect();
        assert_eq!(counts, [3, 3, 1]);
        assert_eq!(parts[0].users, [Uuid::from_u128(1)]);
        assert_eq!(parts[1].users, [Uuid::from_u128(2)]);
        assert_eq!(parts[2].users, [Uuid::from_u128(3)]);
        for (i, part) in parts.iter().enumerate() {
            let on_disk = scratch.0.join(part.path.as_ref());
            let bytes = std::fs::read(&on_disk).unwrap();
            assert_eq!(bytes.len() as u64, part.bytes);
            assert_eq!(hex::encode(Sha256::digest(&bytes)), part.sha256);
            assert_eq!(part.path, part_path(&folder, i as u32, &id));
        }
        assert_eq!(store.list(&folder).await.unwrap().len(), 3);

        let mut reader =
            ArchivedRows::<SampleRecord>::new(&store, parts.iter().map(|p| p.path.clone()));
        let mut read = Vec::new();
        while let Some(batch) = reader.next_batch().await.unwrap() {
            read.extend(batch);
        }
        assert_eq!(read, rows);

        for part in &parts {
            store.delete(&part.path).await.unwrap();
            // Deleting twice is fine: a run that stopped halfway deletes again.
            store.delete(&part.path).await.unwrap();
        }
        assert!(store.list(&folder).await.unwrap().is_empty());
    }
}
