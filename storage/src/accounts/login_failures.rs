//! Failed sign-ins per account and per (account, client address), shared by every gateway
//! replica. Both keys are digests the gateway computes; the rules (how many failures are
//! free, how long a block lasts) are the gateway's. This module opens and locks the two rows
//! of one sign-in, writes their new counts, clears them after a success and purges idle ones.

use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Transaction};

use crate::sql::{execute, query};
use crate::{statement, StoreError};

statement!(OPEN, "login_failures_open");
statement!(LOCK, "login_failures_lock");
statement!(UPDATE, "login_failures_update");
statement!(CLEAR, "login_failures_clear");
statement!(PURGE, "login_failures_purge");

/// The address key of the account-wide row.
const ACCOUNT_WIDE: &[u8] = b"";
/// Idle rows one sign-in purges at most.
const PURGE_BATCH: i64 = 100;

/// Recent failures behind one key, and until when it is blocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub count: i32,
    pub blocked_until: DateTime<Utc>,
}

/// The two rows of one sign-in: the account's, and the account's from this address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignIn {
    pub account: Failures,
    pub address: Failures,
}

/// Locks (until `tx` ends) and reads the rows of `account` and (`account`, `address`),
/// creating them empty when missing. `address` must not be empty.
pub async fn lock(
    tx: &Transaction<'_>,
    account: &[u8],
    address: &[u8],
) -> Result<SignIn, StoreError> {
    let keys: [&[u8]; 2] = [ACCOUNT_WIDE, address];
    execute(tx, OPEN, &[&account, &keys.as_slice()]).await?;
    let rows = query(tx, LOCK, &[&account, &keys.as_slice()]).await?;
    let row_of = |key: &[u8]| -> Result<Failures, StoreError> {
        rows.iter()
            .find(|r| r.get::<_, &[u8]>(0) == key)
            .map(|r| Failures {
                count: r.get(1),
                blocked_until: r.get(2),
            })
            .ok_or_else(|| {
                StoreError::Corrupt("a login_failures row vanished under its lock".into())
            })
    };
    Ok(SignIn {
        account: row_of(ACCOUNT_WIDE)?,
        address: row_of(address)?,
    })
}

/// Writes the rows [`lock`] read.
pub async fn update(
    tx: &Transaction<'_>,
    account: &[u8],
    address: &[u8],
    sign_in: &SignIn,
) -> Result<(), StoreError> {
    let keys: [&[u8]; 2] = [ACCOUNT_WIDE, address];
    let counts = [sign_in.account.count, sign_in.address.count];
    let until = [sign_in.account.blocked_until, sign_in.address.blocked_until];
    execute(
        tx,
        UPDATE,
        &[
            &account,
            &keys.as_slice(),
            &counts.as_slice(),
            &until.as_slice(),
        ],
    )
    .await?;
    Ok(())
}

/// Forgets the failures of `account` and of (`account`, `address`): a successful sign-in.
pub async fn clear(
    client: &impl GenericClient,
    account: &[u8],
    address: &[u8],
) -> Result<(), StoreError> {
    let keys: [&[u8]; 2] = [ACCOUNT_WIDE, address];
    execute(client, CLEAR, &[&account, &keys.as_slice()]).await?;
    Ok(())
}

/// Deletes a bounded batch of rows idle for longer than `idle` that block nothing.
pub async fn purge(client: &impl GenericClient, idle: Duration) -> Result<u64, StoreError> {
    let idle_ms = idle.as_millis() as f64;
    execute(client, PURGE, &[&idle_ms, &PURGE_BATCH]).await
}
