//! An archived partition's rows back, in the order they were written: its part files one
//! after the other. A part is fetched whole (it is bounded, see [`crate::PartLimits`]) and
//! decoded batch by batch, so memory holds one part's bytes and one batch at a time.

use std::collections::VecDeque;
use std::marker::PhantomData;

use object_store::path::Path;
use object_store::ObjectStoreExt;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use crate::{ArchiveError, ArchiveStore, Record};

/// Rows decoded per batch.
const BATCH_ROWS: usize = 8192;

/// The rows of a list of part files, batch by batch.
pub struct ArchivedRows<R: Record> {
    store: ArchiveStore,
    files: VecDeque<Path>,
    current: Option<(String, ParquetRecordBatchReader)>,
    rows: PhantomData<R>,
}

impl<R: Record> ArchivedRows<R> {
    /// Reads `files` (relative to the store's root) in the order given.
    pub fn new(store: &ArchiveStore, files: impl IntoIterator<Item = Path>) -> Self {
        ArchivedRows {
            store: store.clone(),
            files: files.into_iter().collect(),
            current: None,
            rows: PhantomData,
        }
    }

    /// The next batch of rows; `None` once every file is read.
    pub async fn next_batch(&mut self) -> Result<Option<Vec<R>>, ArchiveError> {
        loop {
            if let Some((path, batches)) = self.current.as_mut() {
                match batches.next() {
                    Some(batch) => return R::from_batch(&batch?, path).map(Some),
                    None => self.current = None,
                }
            }
            let Some(path) = self.files.pop_front() else {
                return Ok(None);
            };
            let bytes = self.store.object_store().get(&path).await?.bytes().await?;
            let batches = ParquetRecordBatchReaderBuilder::try_new(bytes)?
                .with_batch_size(BATCH_ROWS)
                .build()?;
            self.current = Some((path.to_string(), batches));
        }
    }
}
