//! SMART Health Links of a grant (`share_links`): each holds its file encrypted under a key
//! only the link carries (the gateway never stores it), a hash of its passcode, and the
//! passcode attempts left. Gateway state, not a projection; it goes with the account.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use uuid::Uuid;

use crate::sql::{execute, query_opt};
use crate::{statement, StoreError};

statement!(INSERT, "links_insert");
statement!(FIND, "links_find");
statement!(TAKE_ATTEMPT, "links_take_attempt");
statement!(GIVE_BACK, "links_give_back_attempt");

/// A link as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub link_id: Uuid,
    /// The random last segment of the manifest URL.
    pub manifest_id: String,
    pub share_id: Uuid,
    pub owner: Uuid,
    pub label: String,
    /// Argon2id of the passcode, when the link needs one.
    pub passcode_hash: Option<String>,
    pub attempts_left: i32,
    /// The grant's slice as a compact JWE.
    pub jwe: String,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(client: &impl GenericClient, link: &Link) -> Result<(), StoreError> {
    execute(
        client,
        INSERT,
        &[
            &link.link_id,
            &link.manifest_id,
            &link.share_id,
            &link.owner,
            &link.label,
            &link.passcode_hash,
            &link.attempts_left,
            &link.jwe,
            &link.expires_at,
        ],
    )
    .await?;
    Ok(())
}

pub async fn find(
    client: &impl GenericClient,
    manifest_id: &str,
) -> Result<Option<Link>, StoreError> {
    Ok(query_opt(client, FIND, &[&manifest_id])
        .await?
        .map(|r| Link {
            link_id: r.get("link_id"),
            manifest_id: r.get("manifest_id"),
            share_id: r.get("share_id"),
            owner: r.get("user_id"),
            label: r.get("label"),
            passcode_hash: r.get("passcode_hash"),
            attempts_left: r.get("attempts_left"),
            jwe: r.get("jwe"),
            expires_at: r.get("expires_at"),
        }))
}

/// Takes one passcode attempt before the passcode is checked, so parallel guesses cannot
/// exceed the attempts; the attempts left after it, `None` when none were left.
pub async fn take_attempt(
    client: &impl GenericClient,
    link_id: Uuid,
) -> Result<Option<i32>, StoreError> {
    Ok(query_opt(client, TAKE_ATTEMPT, &[&link_id])
        .await?
        .map(|r| r.get(0)))
}

/// Gives the attempt back: the passcode was right.
pub async fn give_back_attempt(
    client: &impl GenericClient,
    link_id: Uuid,
) -> Result<(), StoreError> {
    execute(client, GIVE_BACK, &[&link_id]).await?;
    Ok(())
}
