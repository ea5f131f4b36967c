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
statement!(ON_TOPIC, "offsets_on_topic");
statement!(PLACE, "offsets_place");
statement!(GROUPS_ON, "offsets_groups_on");
statement!(ALL, "offsets_all");

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
    write(tx, ADVANCE, group, topic, next).await
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

/// One group's position in one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub group: String,
    pub partition: i32,
    pub next_offset: i64,
}

/// Every group's position on `topic`, held until `tx` ends (see [`place`]).
pub async fn on_topic(tx: &Transaction<'_>, topic: &str) -> Result<Vec<Position>, StoreError> {
    let rows = query(tx, ON_TOPIC, &[&topic]).await?;
    Ok(rows
        .iter()
        .map(|r| Position {
            group: r.get(0),
            partition: r.get(1),
            next_offset: r.get(2),
        })
        .collect())
}

/// Sets `group`'s positions on `topic` as given, wherever they stood: for a topic that
/// replaces another, whose positions were translated message by message.
pub async fn place(
    tx: &Transaction<'_>,
    group: &str,
    topic: &str,
    next: &HashMap<i32, i64>,
) -> Result<(), StoreError> {
    write(tx, PLACE, group, topic, next).await
}

/// Runs `sql` with the group, the topic, and the partitions and offsets of `next` as arrays.
async fn write(
    tx: &Transaction<'_>,
    sql: crate::sql::Sql<'static>,
    group: &str,
    topic: &str,
    next: &HashMap<i32, i64>,
) -> Result<(), StoreError> {
    let (partitions, offsets): (Vec<i32>, Vec<i64>) = next.iter().map(|(p, o)| (*p, *o)).unzip();
    execute(tx, sql, &[&group, &topic, &partitions, &offsets]).await?;
    Ok(())
}

/// Every group's stored position in every partition, by group, topic and partition.
pub async fn all<C: GenericClient>(client: &C) -> Result<Vec<(String, Position)>, StoreError> {
    let rows = query(client, ALL, &[]).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let position = Position {
                group: r.get(0),
                partition: r.get(2),
                next_offset: r.get(3),
            };
            (r.get(1), position)
        })
        .collect())
}

/// The groups with positions on `topic`.
pub async fn groups_on<C: GenericClient>(
    client: &C,
    topic: &str,
) -> Result<Vec<String>, StoreError> {
    let rows = query(client, GROUPS_ON, &[&topic]).await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}
