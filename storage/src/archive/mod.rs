//! The cold tier's SQL (migration `0015_archive`): what `healthpipe archive` reads of the hot
//! tier and what it records of the files it writes. The files themselves are the
//! `healthpipe-archive` crate's business.
//!
//! - [`hot`]: the hypertables' chunks, per-month fingerprints, and a month's rows streamed
//!   in key order through a portal, batch by batch;
//! - [`manifest`]: archived partitions, their time ranges and files, the users in each file,
//!   pending erasures; and [`archived_months`], which the retention command asks before it
//!   drops chunks.

pub mod hot;
pub mod manifest;

use std::fmt;
use std::str::FromStr;

pub use hot::{
    chunks, fingerprints, long_reads, snapshot, AggregateRow, Chunk, Fingerprint, RowStream,
    SampleRow, Snapshot,
};
pub use manifest::{
    archived_months, ArchivedFile, MonthState, NewFile, PartitionKey, PendingErasure, Segment,
};

/// A hypertable the archive copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Relation {
    Samples,
    Aggregates,
}

impl Relation {
    pub const ALL: [Relation; 2] = [Relation::Samples, Relation::Aggregates];

    /// The table's name, also the manifest's `relation` and the archive's top folder.
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Samples => "samples",
            Relation::Aggregates => "aggregates",
        }
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Relation {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Relation::ALL
            .into_iter()
            .find(|r| r.as_str() == text)
            .ok_or_else(|| format!("{text:?} is not an archived relation"))
    }
}
