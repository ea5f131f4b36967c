//! Which users are due a day tick, and which day each was last ticked for
//! (`insight_users.tick_sent`). Several ticker instances may run: [`try_lock`] lets one work
//! at a time, and `FOR UPDATE SKIP LOCKED` keeps the rows of a transaction to itself.

use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::Transaction;
use uuid::Uuid;

use crate::sql::{execute, query, query_one};
use crate::{statement, StoreError};

statement!(LOCK, "ticks_lock");
statement!(DUE, "ticks_due");
statement!(MARK_SENT, "ticks_mark_sent");

/// The transaction-scoped advisory lock key of the ticker ("tick").
const LOCK_KEY: i64 = 0x7469_636b;

/// A user whose local day turned since their last evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct DueTick {
    pub user: Uuid,
    /// The IANA zone, as stored (PostgreSQL's tz database knows it).
    pub timezone: String,
    /// The user's local day at the time asked for.
    pub day: NaiveDate,
}

/// Takes the ticker's lock for the rest of `tx`; `false` when another instance holds it.
pub async fn try_lock(tx: &Transaction<'_>) -> Result<bool, StoreError> {
    Ok(query_one(tx, LOCK, &[&LOCK_KEY]).await?.get(0))
}

/// At most `limit` users due a tick at `now` and not yet ticked for their current local day,
/// locked until `tx` ends.
pub async fn due(
    tx: &Transaction<'_>,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<DueTick>, StoreError> {
    let rows = query(tx, DUE, &[&now, &limit]).await?;
    Ok(rows
        .iter()
        .map(|r| DueTick {
            user: r.get(0),
            timezone: r.get(1),
            day: r.get(2),
        })
        .collect())
}

/// Records that each user was ticked for that local day.
pub async fn mark_sent(tx: &Transaction<'_>, sent: &[(Uuid, NaiveDate)]) -> Result<(), StoreError> {
    if sent.is_empty() {
        return Ok(());
    }
    let (users, days): (Vec<Uuid>, Vec<NaiveDate>) = sent.iter().copied().unzip();
    execute(tx, MARK_SENT, &[&users, &days]).await?;
    Ok(())
}
