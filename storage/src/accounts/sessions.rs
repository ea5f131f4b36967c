//! Sessions: the SHA-256 digest of each bearer token (never the token), its user and expiry.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use deadpool_postgres::GenericClient;
use uuid::Uuid;

use crate::reads::profiles::zone_named;
use crate::sql::{execute, query_opt};
use crate::{statement, StoreError};

statement!(INSERT, "sessions_insert");
statement!(DELETE, "sessions_delete");
statement!(LOOKUP, "sessions_lookup");

/// The user behind a valid, unexpired session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser {
    pub id: Uuid,
    pub role: String,
    /// The zone the user's aggregates are bucketed in (as [`crate::reads::profiles::zone`]
    /// reads it), fetched with the session: every read of the aggregates needs it.
    pub zone: Tz,
}

/// Stores a new session for `user_id` under the token's digest.
pub async fn create(
    client: &impl GenericClient,
    token_hash: &[u8],
    user_id: Uuid,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    execute(client, INSERT, &[&token_hash, &user_id, &expires_at]).await?;
    Ok(())
}

/// Ends the session: its token stops working at once.
pub async fn delete(client: &impl GenericClient, token_hash: &[u8]) -> Result<(), StoreError> {
    execute(client, DELETE, &[&token_hash]).await?;
    Ok(())
}

/// The user of the unexpired session with this token digest, if any.
pub async fn lookup(
    client: &impl GenericClient,
    token_hash: &[u8],
) -> Result<Option<SessionUser>, StoreError> {
    Ok(query_opt(client, LOOKUP, &[&token_hash])
        .await?
        .map(|r| SessionUser {
            id: r.get(0),
            role: r.get(1),
            zone: zone_named(r.get(2)),
        }))
}
