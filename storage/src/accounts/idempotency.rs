//! Idempotency keys of the gateway's appending endpoints: a claim per (user, key digest),
//! `in_flight` until its owner stores the final answer (`completed`) or releases it.
//!
//! The rules (what a key is, what each outcome answers) are the gateway's; this module only
//! claims, reads and settles rows, without ever relying on a constraint violation: a claim
//! that loses a race learns it from [`Claim::Held`].

use std::time::Duration;

use deadpool_postgres::GenericClient;
use uuid::Uuid;

use crate::sql::{execute, query_opt};
use crate::{statement, StoreError};

statement!(PURGE, "idempotency_purge");
statement!(INSERT, "idempotency_insert");
statement!(TAKE_OVER, "idempotency_take_over");
statement!(FIND, "idempotency_find");
statement!(COMPLETE, "idempotency_complete");
statement!(RELEASE, "idempotency_release");

/// Expired rows one claim deletes at most.
const PURGE_BATCH: i64 = 100;
/// Attempts of a claim whose competing row vanishes between the statements (released or
/// purged meanwhile).
const CLAIM_ATTEMPTS: usize = 3;

/// One key of one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub user_id: Uuid,
    /// SHA-256 of the key (never the key itself).
    pub key_hash: Vec<u8>,
}

/// How long rows live and claims block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// A row older than this counts as absent.
    pub ttl: Duration,
    /// An `in_flight` claim older than this may be taken over by the same request.
    pub lease: Duration,
}

/// The outcome of [`claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The caller holds the key under this claim id; settle it with [`complete`] or [`release`].
    Owned(Uuid),
    /// A live row holds the key.
    Held(Holder),
    /// The competing row kept changing under the claim; the caller may retry.
    Contended,
}

/// The row that holds a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The digest of the request that claimed it.
    pub request_hash: Vec<u8>,
    pub state: HolderState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HolderState {
    /// Its owner has not settled it yet.
    InFlight,
    /// Its owner stored this answer.
    Completed { status: u16, body: Vec<u8> },
}

/// Claims `key` for the request `request_hash`, after purging a bounded batch of expired rows.
pub async fn claim(
    client: &impl GenericClient,
    key: &Key,
    request_hash: &[u8],
    lifetimes: Lifetimes,
) -> Result<Claim, StoreError> {
    let ttl_ms = lifetimes.ttl.as_millis() as f64;
    let lease_ms = lifetimes.lease.as_millis() as f64;
    execute(client, PURGE, &[&ttl_ms, &PURGE_BATCH]).await?;
    for _ in 0..CLAIM_ATTEMPTS {
        let claim_id = Uuid::new_v4();
        let (user, hash) = (&key.user_id, &key.key_hash);
        let inserted = execute(client, INSERT, &[user, hash, &request_hash, &claim_id]).await? == 1;
        // Only when the insert found the key taken: it may be expired or abandoned.
        let owned = inserted
            || execute(
                client,
                TAKE_OVER,
                &[user, hash, &request_hash, &claim_id, &ttl_ms, &lease_ms],
            )
            .await?
                == 1;
        if owned {
            return Ok(Claim::Owned(claim_id));
        }
        if let Some(holder) = holder(client, key, ttl_ms).await? {
            return Ok(Claim::Held(holder));
        }
    }
    Ok(Claim::Contended)
}

/// The live row holding `key`, if any.
async fn holder(
    client: &impl GenericClient,
    key: &Key,
    ttl_ms: f64,
) -> Result<Option<Holder>, StoreError> {
    let Some(row) = query_opt(client, FIND, &[&key.user_id, &key.key_hash, &ttl_ms]).await? else {
        return Ok(None);
    };
    let state = match row.get::<_, &str>(1) {
        "in_flight" => HolderState::InFlight,
        _ => HolderState::Completed {
            status: row.get::<_, i16>(2) as u16,
            body: row.get(3),
        },
    };
    Ok(Some(Holder {
        request_hash: row.get(0),
        state,
    }))
}

/// Stores the final answer of the claim `claim_id`; a claim taken over meanwhile is left alone.
pub async fn complete(
    client: &impl GenericClient,
    key: &Key,
    claim_id: Uuid,
    status: u16,
    body: &[u8],
) -> Result<(), StoreError> {
    let status = status as i16;
    execute(
        client,
        COMPLETE,
        &[&key.user_id, &key.key_hash, &claim_id, &status, &body],
    )
    .await?;
    Ok(())
}

/// Deletes the claim `claim_id` while it is still in flight, so a retry can proceed.
pub async fn release(
    client: &impl GenericClient,
    key: &Key,
    claim_id: Uuid,
) -> Result<(), StoreError> {
    execute(client, RELEASE, &[&key.user_id, &key.key_hash, &claim_id]).await?;
    Ok(())
}
