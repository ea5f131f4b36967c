//! Account and device changes reach the log through an outbox: the handler writes the row
//! and its encoded event in one short transaction, commits, then appends the user's pending
//! events and deletes them once Kafka acknowledged them. No transaction waits for Kafka, and
//! no event can exist for a row that was never committed.
//!
//! A change is answered as done only once its event is in Kafka. If Kafka cannot take it
//! now, the answer is 503 saying the change is saved; the relay (one per gateway) appends
//! what requests left behind, and a retry of the request finds its change and appends it
//! too. Appends of one user take turns on the user's outbox rows, so they keep their order.

use std::sync::Arc;
use std::time::Duration;

use healthpipe_schemas::Event;
use healthpipe_storage::accounts::{keys, outbox};
use healthpipe_storage::pool::Transaction;
use uuid::Uuid;

use crate::error::ApiError;
use crate::AppState;

/// How often the relay looks for events requests left behind.
const RELAY_EVERY: Duration = Duration::from_secs(2);
/// Users the relay serves per round at most.
const RELAY_BATCH: i64 = 100;

/// Writes `event` about `user` to the outbox within the change's `tx` (encoded and sealed
/// now, so a registry outage is a 503 before anything is committed). The user's data key
/// is created in the same transaction when the user has none yet (a new account).
pub async fn record<E: Event>(
    tx: &Transaction<'_>,
    state: &AppState,
    user: Uuid,
    event: &E,
) -> Result<(), ApiError> {
    let key = keys::get_or_create(tx, state.keys.as_ref(), user).await?;
    let payload = state.publisher.encode(event, &key).await?;
    outbox::enqueue(tx, user, &payload).await?;
    Ok(())
}

/// Appends the user's pending events, oldest first, and deletes them once acknowledged;
/// where they went (partition, offset). Fails with a 503 that says the change is saved when
/// Kafka cannot take them now.
pub async fn drain(state: &AppState, user: Uuid) -> Result<Vec<(i32, i64)>, ApiError> {
    let mut db = state.db.get().await?;
    let tx = db.transaction().await?;
    let pending = outbox::lock_user(&tx, user).await?;
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let payloads: Vec<&[u8]> = pending.iter().map(|p| p.payload.as_slice()).collect();
    let positions = state
        .publisher
        .append(&user.to_string(), &payloads)
        .await
        .map_err(|_| ApiError::Unavailable {
            reason: "the change is saved, and the event log did not confirm it in time; it \
                     will be appended shortly, and retrying the request is safe"
                .into(),
            retry_after_secs: 1,
        })?;
    let ids: Vec<i64> = pending.iter().map(|p| p.id).collect();
    outbox::delete(&tx, &ids).await?;
    tx.commit().await?;
    Ok(positions)
}

/// Appends, every [`RELAY_EVERY`], the events that requests left behind (older than the
/// produce timeout: their request has given up). Runs until aborted.
pub async fn relay(state: Arc<AppState>) {
    let older_than = state.config.produce_timeout.as_secs_f64();
    loop {
        tokio::time::sleep(RELAY_EVERY).await;
        let users = match state.db.get().await {
            Ok(db) => outbox::stale_users(&db, older_than, RELAY_BATCH).await,
            Err(e) => Err(e.into()),
        };
        let users = match users {
            Ok(users) => users,
            Err(e) => {
                tracing::warn!(error = %e, "outbox relay cannot read the outbox");
                continue;
            }
        };
        for user in users {
            match drain(&state, user).await {
                Ok(_) => tracing::info!(%user, "outbox relay appended events a request left"),
                Err(e) => tracing::warn!(%user, error = %e, "outbox relay could not append"),
            }
        }
    }
}
