//! The day partials: per user, type and local day, what the day contributes to its week and
//! month (`healthpipe_domain::DayPartial`). Weeks and months are combined from the partials
//! of their days, so a late sample or a new day costs the samples of its days, not those of
//! its month. A recomputation replaces whole days: [`delete`] removes the old partials and
//! [`copy`] writes the new ones; [`load`] reads the days of the weeks and months to combine.
//!
//! A partial is stored whole, as jsonb: its shape (the samples shared with other days, the
//! devices, the latest sample) is the domain's, and jsonb keeps every number as numeric,
//! digit for digit, so the shortest round-trip digits serde_json writes read back as the same
//! doubles and a combination from stored partials gives the bits of one from samples.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use healthpipe_domain::{DayPartial, SampleType};
use tokio_postgres::types::{Json, Type};
use uuid::Uuid;

use crate::sql::{copy_in, execute, query};
use crate::{statement, StoreError};

statement!(DELETE, "day_partials_delete");
statement!(COPY, "day_partials_copy");
statement!(LOAD, "day_partials_load");

/// Days of one user and type whose partials are replaced or read: day_start in [from, to).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayRange {
    pub user: Uuid,
    pub sample_type: SampleType,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// The ranges as the statements' parallel arrays: (user, type, from, to).
type Columns = (
    Vec<Uuid>,
    Vec<&'static str>,
    Vec<DateTime<Utc>>,
    Vec<DateTime<Utc>>,
);

fn columns(ranges: &[DayRange]) -> Columns {
    let mut cols: Columns = Default::default();
    for r in ranges {
        cols.0.push(r.user);
        cols.1.push(r.sample_type.as_str());
        cols.2.push(r.from);
        cols.3.push(r.to);
    }
    cols
}

/// Deletes the partials of every day in the ranges, in one statement.
pub async fn delete(tx: &Transaction<'_>, ranges: &[DayRange]) -> Result<(), StoreError> {
    if ranges.is_empty() {
        return Ok(());
    }
    let cols = columns(ranges);
    execute(tx, DELETE, &[&cols.0, &cols.1, &cols.2, &cols.3]).await?;
    Ok(())
}

/// Writes partials with binary COPY, keyed by their type and day start; the ranges they fall
/// in were deleted first.
pub async fn copy(tx: &Transaction<'_>, rows: &[(Uuid, DayPartial)]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let types = [Type::UUID, Type::TEXT, Type::TIMESTAMPTZ, Type::JSONB];
    let mut copy = copy_in(tx, COPY, &types).await?;
    for (user, partial) in rows {
        copy.write(&[
            user,
            &partial.sample_type.as_str(),
            &partial.day_start,
            &Json(partial),
        ])
        .await?;
    }
    copy.finish().await?;
    Ok(())
}

/// Every stored partial in each range, by the range's index, each list sorted by day_start.
/// Ranges without any partial are absent.
pub async fn load(
    tx: &Transaction<'_>,
    ranges: &[DayRange],
) -> Result<HashMap<usize, Vec<DayPartial>>, StoreError> {
    let mut out: HashMap<usize, Vec<DayPartial>> = HashMap::new();
    if ranges.is_empty() {
        return Ok(out);
    }
    let indexes: Vec<i32> = (0..ranges.len() as i32).collect();
    let cols = columns(ranges);
    let rows = query(tx, LOAD, &[&indexes, &cols.0, &cols.1, &cols.2, &cols.3]).await?;
    for r in &rows {
        let index = r.get::<_, i32>(0) as usize;
        // The error's text may quote a stored value (health data): it is not kept.
        let Json(partial) = r.try_get::<_, Json<DayPartial>>(1).map_err(|_| {
            StoreError::Corrupt(format!("{}: a partial does not decode", LOAD.name))
        })?;
        if partial.sample_type != ranges[index].sample_type {
            return Err(StoreError::Corrupt(format!(
                "{}: a partial of {} stored as {}",
                LOAD.name,
                partial.sample_type.as_str(),
                ranges[index].sample_type.as_str()
            )));
        }
        out.entry(index).or_default().push(partial);
    }
    Ok(out)
}
