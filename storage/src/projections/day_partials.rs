//! The day partials: per user, type and local day, what the day contributes to its week and
//! month (`healthpipe_domain::DayPartial`). Weeks and months are combined from the partials
//! of their days, so a late sample or a new day costs the samples of its days, not those of
//! its month. A recomputation replaces whole days: [`delete`] removes the old partials and
//! [`copy`] writes the new ones; [`load`] reads the days of the weeks and months to combine.
//!
//! A partial is stored as columns (arrays for the samples shared with other days and for the
//! devices): float8 keeps every double bit for bit, so a combination from stored partials
//! gives the bits of one from samples.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use healthpipe_domain::{DayPartial, Latest, SampleType};
use tokio_postgres::types::Type;
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

/// Writes partials with binary COPY; the days they fall in were deleted first.
pub async fn copy(tx: &Transaction<'_>, rows: &[(Uuid, DayPartial)]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let types = [
        Type::UUID,
        Type::TEXT,
        Type::TIMESTAMPTZ,
        Type::FLOAT8,
        Type::INT4,
        Type::FLOAT8,
        Type::FLOAT8,
        Type::TEXT_ARRAY,
        Type::FLOAT8_ARRAY,
        Type::INT8,
        Type::TEXT_ARRAY,
        Type::TIMESTAMPTZ,
        Type::TEXT,
        Type::FLOAT8,
    ];
    let mut copy = copy_in(tx, COPY, &types).await?;
    for (user, p) in rows {
        let count = i32::try_from(p.whole_count).unwrap_or(i32::MAX);
        let (shared_ids, shared_amounts): (Vec<&str>, Vec<f64>) =
            p.shared.iter().map(|(id, a)| (id.as_str(), *a)).unzip();
        let latest = p.latest.as_ref();
        copy.write(&[
            user,
            &p.sample_type.as_str(),
            &p.day_start,
            &p.sum,
            &count,
            &p.whole_min,
            &p.whole_max,
            &shared_ids,
            &shared_amounts,
            &p.counted_nanos,
            &p.devices,
            &latest.map(|l| l.start),
            &latest.map(|l| l.id.as_str()),
            &latest.map(|l| l.value),
        ])
        .await?;
    }
    copy.finish().await?;
    Ok(())
}

/// Every stored partial in each range, by the range's index (ranges without any are absent),
/// each list in day order.
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
        let ids: Vec<String> = r.get(6);
        let amounts: Vec<f64> = r.get(7);
        let latest_start: Option<DateTime<Utc>> = r.get(10);
        let latest_id: Option<String> = r.get(11);
        let latest_value: Option<f64> = r.get(12);
        out.entry(index).or_default().push(DayPartial {
            sample_type: ranges[index].sample_type,
            day_start: r.get(1),
            sum: r.get(2),
            whole_count: u32::try_from(r.get::<_, i32>(3)).unwrap_or(0),
            whole_min: r.get(4),
            whole_max: r.get(5),
            shared: ids.into_iter().zip(amounts).collect(),
            counted_nanos: r.get(8),
            devices: r.get(9),
            latest: match (latest_start, latest_id, latest_value) {
                (Some(start), Some(id), Some(value)) => Some(Latest { start, id, value }),
                _ => None,
            },
        });
    }
    Ok(out)
}
