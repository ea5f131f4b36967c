//! The processors' positions, kept beside the rows they produced.
//!
//! Each batch transaction locks its partitions' rows (`FOR UPDATE`), skips what is below the
//! stored offset and moves the offset forward in the same commit: this, not Kafka's committed
//! offset, is where a group stands. Partitions are seeked to [`load`]'s positions on every
//! assignment.

use std::collections::HashMap;

use deadpool_postgres::{GenericClient, Transaction};

use crate::sql::{execute, query};
use crate::{statement, StoreError};

statement!(INSERT_MISSING, "offsets_insert_missing");
statement!(LOCK, "offsets_lock");
statement!(ADVANCE, "offsets_advance");
statement!(LOAD, "offsets_load");

/// Locks the rows of `partitions` for this transaction and returns their next offsets.
pub async fn lock(
    tx: &Transaction<'_>,
    group: &str,
    topic: &str,
    partitions: &[i32],
) -> Result<HashMap<i32, i64>, StoreError> {
    execute(tx, INSERT_MISSING, &[&group, &topic, &partitions]).await?;
    let rows = query(tx, LOCK, &[&group, &topic, &partitions]).await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Moves offsets forward, never backwards.
pub async fn advance(
    tx: &Transaction<'_>,
    group: &str,
    topic: &str,
    next: &HashMap<i32, i64>,
) -> Result<(), StoreError> {
    let (partitions, offsets): (Vec<i32>, Vec<i64>) = next.iter().map(|(p, o)| (*p, *o)).unzip();
    execute(tx, ADVANCE, &[&group, &topic, &partitions, &offsets]).await?;
    Ok(())
}

/// Every stored position of `group` on `topic`.
pub async fn load<C: GenericClient>(
    client: &C,
    group: &str,
    topic: &str,
) -> Result<HashMap<i32, i64>, StoreError> {
    let rows = query(client, LOAD, &[&group, &topic]).await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}
