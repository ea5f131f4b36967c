//! Share grants as the gateway reads them: the projection (`share_grants`), with a
//! revocation the gateway has taken but the processor not yet applied (`share_revocations`)
//! counted as a revocation, and the time of the last allowed read from the access log.

use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::sql::{execute, query, query_opt};
use crate::{statement, StoreError};

statement!(OWNED, "grants_owned");
statement!(ALL_OWNED, "grants_all_owned");
statement!(FIND, "grants_find");
statement!(BY_CODE, "grants_by_code");
statement!(REDEEMED_BY, "grants_redeemed_by");
statement!(REVOKE, "grants_revoke");

/// How long a revoked or expired grant stays in its owner's list after its end.
pub const VISIBLE_AFTER_END_DAYS: i32 = 30;

#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    pub share_id: Uuid,
    pub owner: Uuid,
    pub recipient_email: String,
    pub sample_types: Vec<String>,
    pub date_start: NaiveDate,
    pub date_end: NaiveDate,
    pub expires_at: DateTime<Utc>,
    pub label: String,
    pub granted_at: DateTime<Utc>,
    pub redeemed_by: Option<Uuid>,
    pub redeemed_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_access: Option<DateTime<Utc>>,
}

impl From<&Row> for Grant {
    fn from(r: &Row) -> Self {
        Grant {
            share_id: r.get("share_id"),
            owner: r.get("user_id"),
            recipient_email: r.get("recipient_email"),
            sample_types: r.get("sample_types"),
            date_start: r.get("date_start"),
            date_end: r.get("date_end"),
            expires_at: r.get("expires_at"),
            label: r.get("label"),
            granted_at: r.get("granted_at"),
            redeemed_by: r.get("redeemed_by"),
            redeemed_at: r.get("redeemed_at"),
            revoked_at: r.get("revoked_at"),
            last_access: r.get("last_access"),
        }
    }
}

/// The owner's grants, newest first, without those that ended (revoked or expired) more
/// than [`VISIBLE_AFTER_END_DAYS`] ago.
pub async fn owned(client: &impl GenericClient, owner: Uuid) -> Result<Vec<Grant>, StoreError> {
    let rows = query(client, OWNED, &[&owner, &VISIBLE_AFTER_END_DAYS]).await?;
    Ok(rows.iter().map(Grant::from).collect())
}

/// Every grant of the owner, ended or not, oldest first (their export).
pub async fn all_owned(client: &impl GenericClient, owner: Uuid) -> Result<Vec<Grant>, StoreError> {
    let rows = query(client, ALL_OWNED, &[&owner]).await?;
    Ok(rows.iter().map(Grant::from).collect())
}

pub async fn find(client: &impl GenericClient, share: Uuid) -> Result<Option<Grant>, StoreError> {
    Ok(query_opt(client, FIND, &[&share])
        .await?
        .as_ref()
        .map(Grant::from))
}

/// The grant an access code opens, by the code's SHA-256 (hex).
pub async fn by_code(
    client: &impl GenericClient,
    digest: &str,
) -> Result<Option<Grant>, StoreError> {
    Ok(query_opt(client, BY_CODE, &[&digest])
        .await?
        .as_ref()
        .map(Grant::from))
}

/// The grants `provider` redeemed, newest first.
pub async fn redeemed_by(
    client: &impl GenericClient,
    provider: Uuid,
) -> Result<Vec<Grant>, StoreError> {
    let rows = query(client, REDEEMED_BY, &[&provider]).await?;
    Ok(rows.iter().map(Grant::from).collect())
}

/// Records the owner's revocation of `share`, effective for reads from this commit on;
/// whether it is new.
pub async fn revoke(
    client: &impl GenericClient,
    share: Uuid,
    owner: Uuid,
) -> Result<bool, StoreError> {
    Ok(execute(client, REVOKE, &[&share, &owner]).await? == 1)
}
