//! Erasing users from the projections, applied by the processors (the projections' only
//! writers) when they apply a `UserErased` event, in the batch's transaction: nothing races
//! with a batch in flight, and a replay deletes the same rows at the same point of the log.

use deadpool_postgres::Transaction;
use uuid::Uuid;

use crate::sql::execute;
use crate::{statement, StoreError};

statement!(ERASE_AGGREGATION, "erase_aggregation");
statement!(ERASE_INSIGHTS, "erase_insights");

/// Deletes the users' samples, sample index, sync versions, aggregates, day partials, device
/// rankings, profiles and share grants, and notes them in `archive_erasures`: `healthpipe
/// archive` then rewrites the cold tier's files without them.
pub async fn erase_aggregation(tx: &Transaction<'_>, users: &[Uuid]) -> Result<(), StoreError> {
    if !users.is_empty() {
        execute(tx, ERASE_AGGREGATION, &[&users]).await?;
    }
    Ok(())
}

/// Deletes the users' insights, acknowledgements, rule inputs and tick state.
pub async fn erase_insights(tx: &Transaction<'_>, users: &[Uuid]) -> Result<(), StoreError> {
    if !users.is_empty() {
        execute(tx, ERASE_INSIGHTS, &[&users]).await?;
    }
    Ok(())
}
