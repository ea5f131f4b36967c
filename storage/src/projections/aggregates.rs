//! The hour/day/week/month aggregates. A recomputation replaces whole ranges of buckets:
//! [`delete`] removes the old rows (and returns them, to tell what really changed) and
//! [`copy`] writes the new ones.

use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use healthpipe_domain::{AggregateRow, SampleType};
use tokio_postgres::types::Type;
use uuid::Uuid;

use crate::sql::{copy_in, query};
use crate::{statement, StoreError};

statement!(DELETE, "aggregates_delete");
statement!(COPY, "aggregates_copy");

/// A range of buckets of one user, type and period whose rows are replaced: those whose
/// period start is in `[from, to)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Replace {
    pub user: Uuid,
    pub sample_type: SampleType,
    pub period: &'static str,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Replace {
    /// Whether the bucket starting at `start` is in the range.
    pub fn contains(&self, start: DateTime<Utc>) -> bool {
        self.from <= start && start < self.to
    }
}

/// A stored aggregate row: (user, type, period, period start) → (value, min, max, count).
pub type StoredRow = ((Uuid, String, String, DateTime<Utc>), (f64, f64, f64, i32));

/// Deletes the rows in every range and returns them.
pub async fn delete(
    tx: &Transaction<'_>,
    ranges: &[&Replace],
) -> Result<Vec<StoredRow>, StoreError> {
    let Some((first, last)) = super::time_bounds(ranges.iter().map(|r| (r.from, r.to))) else {
        return Ok(Vec::new());
    };
    let mut cols = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in ranges {
        cols.0.push(r.user);
        cols.1.push(r.sample_type.as_str());
        cols.2.push(r.period);
        cols.3.push(r.from);
        cols.4.push(r.to);
    }
    let deleted = query(
        tx,
        DELETE,
        &[&cols.0, &cols.1, &cols.2, &cols.3, &cols.4, &first, &last],
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

/// Writes aggregate rows with binary COPY; the ranges they fall in were deleted first.
pub async fn copy(tx: &Transaction<'_>, rows: &[(Uuid, AggregateRow)]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let types = [
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
    ];
    let mut copy = copy_in(tx, COPY, &types).await?;
    for (user, row) in rows {
        let count = row.sample_count as i32;
        let devices = row.device_count as i32;
        copy.write(&[
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
    copy.finish().await?;
    Ok(())
}
