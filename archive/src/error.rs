//! What can go wrong with the archive's files. Messages name paths, columns and counts, never
//! a row's values: an archived file holds health data.

/// Why an archive operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// `ARCHIVE_URL` is not a `file://` or `s3://` URL the archive can use.
    #[error("ARCHIVE_URL: {0}")]
    Url(String),
    /// The object store refused or failed a request (network, permissions, a missing file).
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    /// A Parquet file could not be written or read.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// A record batch could not be built.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// An archived file does not have the shape this version writes.
    #[error("archived file {path}: {reason}")]
    Corrupt { path: String, reason: String },
    /// A source yielded rows out of key order (or twice), which a merge cannot handle.
    #[error("{side} rows are not in key order")]
    Order { side: &'static str },
    /// A partition value (a sample type) that cannot name a folder.
    #[error("{0:?} cannot be a partition value")]
    Partition(String),
}
