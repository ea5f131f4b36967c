//! The share-grants projection (`share_grants`): grants, their redemption and revocation,
//! from `ShareGranted`, `ShareRedeemed` and `ShareRevoked` on the owner's stream. Applied in
//! log order within a batch; the first redemption and the first revocation of a grant win,
//! so a replay gives the same rows whatever the batch boundaries. Share events are rare (a
//! person's deliberate act), so each is one statement.

use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::Transaction;
use uuid::Uuid;

use crate::sql::execute;
use crate::{statement, StoreError};

statement!(GRANT, "shares_grant");
statement!(REDEEM, "shares_redeem");
statement!(REVOKE, "shares_revoke");
statement!(FORGET, "shares_forget");

/// A grant as `ShareGranted` made it.
#[derive(Debug, Clone, PartialEq)]
pub struct GrantRow {
    pub share_id: Uuid,
    pub user_id: Uuid,
    pub recipient_email: String,
    pub sample_types: Vec<String>,
    pub date_start: NaiveDate,
    pub date_end: NaiveDate,
    pub expires_at: DateTime<Utc>,
    pub label: String,
    pub code_digest: String,
    pub granted_at: DateTime<Utc>,
}

/// One change to the projection, in log order.
#[derive(Debug, Clone, PartialEq)]
pub enum ShareChange {
    Grant(GrantRow),
    Redeem {
        share_id: Uuid,
        provider_id: Uuid,
        at: DateTime<Utc>,
    },
    Revoke {
        share_id: Uuid,
        at: DateTime<Utc>,
    },
    /// The grant ended longer ago than retention keeps grants (see
    /// `healthpipe_domain::retention`): its row goes.
    Forget {
        share_id: Uuid,
    },
}

/// Applies `changes` in order.
pub async fn apply(tx: &Transaction<'_>, changes: &[ShareChange]) -> Result<(), StoreError> {
    for change in changes {
        match change {
            ShareChange::Grant(g) => {
                execute(
                    tx,
                    GRANT,
                    &[
                        &g.share_id,
                        &g.user_id,
                        &g.recipient_email,
                        &g.sample_types,
                        &g.date_start,
                        &g.date_end,
                        &g.expires_at,
                        &g.label,
                        &g.code_digest,
                        &g.granted_at,
                    ],
                )
                .await?
            }
            ShareChange::Redeem {
                share_id,
                provider_id,
                at,
            } => execute(tx, REDEEM, &[share_id, provider_id, at]).await?,
            ShareChange::Revoke { share_id, at } => execute(tx, REVOKE, &[share_id, at]).await?,
            ShareChange::Forget { share_id } => execute(tx, FORGET, &[share_id]).await?,
        };
    }
    Ok(())
}
