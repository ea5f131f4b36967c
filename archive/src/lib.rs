//! The cold tier's files: old months of the `samples` and `aggregates` projections as Parquet
//! in an object store (`file://` locally, `s3://` in production), laid out so DuckDB, pyarrow
//! or Spark read them as one Hive-partitioned dataset:
//!
//! ```text
//! samples/sample_type=STEPS/month=2024-03/part-00000-20261205T073455Z-1a2b3c4d.parquet
//! aggregates/sample_type=STEPS/month=2024-03/part-00000-20261205T073455Z-1a2b3c4d.parquet
//! ```
//!
//! This crate holds no SQL and knows no database: `healthpipe archive` (the root crate)
//! streams rows out of PostgreSQL through the storage layer and hands them here.
//!
//! - [`layout`]: calendar months (UTC), which are old enough, where their files go;
//! - [`horizon`]: the seven-year raw-data retention past which files are deleted;
//! - [`record`]: the two row shapes and their Arrow schemas (uuids as strings, times as
//!   `timestamp[us, UTC]`);
//! - [`store`]: the object store under `ARCHIVE_URL`;
//! - [`writer`]: rows into numbered part files of bounded size, each put whole (atomically)
//!   under its final name;
//! - [`reader`]: an archived month's rows back, file by file, row group by row group;
//! - [`merge`]: a month's archived rows and the database's, both in key order, into one
//!   ordered stream without duplicates, dropping erased users.
//!
//! Memory stays bounded whatever a month's size: rows move in batches, a part file is at most
//! [`writer::PartLimits::part_rows`] rows, and the reader holds one row group at a time.

pub mod error;
pub mod horizon;
pub mod layout;
pub mod merge;
pub mod reader;
pub mod record;
pub mod store;
pub mod writer;

pub use error::ArchiveError;
pub use horizon::{is_beyond_raw_data_retention, raw_data_retention_horizon};
pub use layout::Month;
pub use merge::{Keep, Merger, Side};
/// Object paths, relative to the archive's root.
pub use object_store::path::Path;
pub use reader::ArchivedRows;
pub use record::{AggregateRecord, Record, SampleRecord};
pub use store::ArchiveStore;
pub use writer::{PartLimits, PartWriter, WrittenPart};
