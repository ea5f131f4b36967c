//! The outbox of account and device events (see migration `0009_event_outbox`): written in
//! the transaction of the change, read and deleted by whoever appends them to Kafka.

use deadpool_postgres::{GenericClient, Transaction};
use uuid::Uuid;

use crate::sql::{execute, query};
use crate::{statement, StoreError};

statement!(ENQUEUE, "outbox_enqueue");
statement!(LOCK_USER, "outbox_lock_user");
statement!(DELETE, "outbox_delete");
statement!(STALE_USERS, "outbox_stale_users");

/// One pending event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub id: i64,
    pub payload: Vec<u8>,
}

/// Adds `payload` (an encoded event about `user`) to the outbox, within the change's `tx`.
pub async fn enqueue(tx: &Transaction<'_>, user: Uuid, payload: &[u8]) -> Result<(), StoreError> {
    execute(tx, ENQUEUE, &[&user, &payload]).await?;
    Ok(())
}

/// Locks (until `tx` ends) and reads the user's pending events, oldest first.
pub async fn lock_user(tx: &Transaction<'_>, user: Uuid) -> Result<Vec<Pending>, StoreError> {
    let rows = query(tx, LOCK_USER, &[&user]).await?;
    Ok(rows
        .iter()
        .map(|r| Pending {
            id: r.get(0),
            payload: r.get(1),
        })
        .collect())
}

/// Deletes the entries Kafka acknowledged.
pub async fn delete(tx: &Transaction<'_>, ids: &[i64]) -> Result<(), StoreError> {
    execute(tx, DELETE, &[&ids]).await?;
    Ok(())
}

/// Up to `limit` users with an entry older than `older_than_secs`.
pub async fn stale_users(
    client: &impl GenericClient,
    older_than_secs: f64,
    limit: i64,
) -> Result<Vec<Uuid>, StoreError> {
    let rows = query(client, STALE_USERS, &[&older_than_secs, &limit]).await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}
