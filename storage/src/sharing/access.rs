//! The access log of shared data (`share_access`): every read through a share and every
//! refusal, for the owner to see. The table refuses updates and deletes (a trigger); only
//! [`erase_owner`] and the retention job remove rows, and they say so in their transaction.

use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::{GenericClient, Transaction};
use uuid::Uuid;

use crate::sql::{execute, query};
use crate::{statement, StoreError};

statement!(RECORD, "access_record");
statement!(FOR_SHARE, "access_for_share");
statement!(OWNER_PAGE, "access_owner_page");
statement!(ALLOW_REMOVAL, "access_allow_removal");
statement!(ERASE_OWNER, "access_erase_owner");

/// One read or refusal.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessRecord {
    pub at: Option<DateTime<Utc>>,
    /// `None` when no share matched (an unknown access code).
    pub share_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    /// The signed-in reader.
    pub reader_id: Option<Uuid>,
    /// The SMART Health Link read through, and the recipient its viewer named.
    pub link_id: Option<Uuid>,
    pub recipient: Option<String>,
    pub sample_types: Vec<String>,
    pub range_start: Option<NaiveDate>,
    pub range_end: Option<NaiveDate>,
    /// The client's address, as the gateway determined it.
    pub client: Option<String>,
    /// `redeem`, `aggregates`, `fhir`, ...
    pub action: String,
    /// `allowed` or `denied`.
    pub outcome: String,
    /// Why it was denied.
    pub reason: Option<String>,
}

pub async fn record(client: &impl GenericClient, r: &AccessRecord) -> Result<(), StoreError> {
    execute(
        client,
        RECORD,
        &[
            &r.share_id,
            &r.owner_id,
            &r.reader_id,
            &r.link_id,
            &r.recipient,
            &r.sample_types,
            &r.range_start,
            &r.range_end,
            &r.client,
            &r.action,
            &r.outcome,
            &r.reason,
        ],
    )
    .await?;
    Ok(())
}

/// The records of `share`, newest first, at most `limit`.
pub async fn for_share(
    client: &impl GenericClient,
    share: Uuid,
    limit: i64,
) -> Result<Vec<AccessRecord>, StoreError> {
    let rows = query(client, FOR_SHARE, &[&share, &limit]).await?;
    Ok(rows.iter().map(record_of).collect())
}

fn record_of(r: &tokio_postgres::Row) -> AccessRecord {
    AccessRecord {
        at: r.get("at"),
        share_id: r.get("share_id"),
        owner_id: r.get("owner_id"),
        reader_id: r.get("reader_id"),
        link_id: r.get("link_id"),
        recipient: r.get("recipient"),
        sample_types: r.get("sample_types"),
        range_start: r.get("range_start"),
        range_end: r.get("range_end"),
        client: r.get("client"),
        action: r.get("action"),
        outcome: r.get("outcome"),
        reason: r.get("reason"),
    }
}

/// Up to `limit` records about `owner`'s data after record `after` (0 for the first page),
/// oldest first, with the id of each (the next page's `after`).
pub async fn owner_page(
    client: &impl GenericClient,
    owner: Uuid,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, AccessRecord)>, StoreError> {
    let rows = query(client, OWNER_PAGE, &[&owner, &after, &limit]).await?;
    Ok(rows.iter().map(|r| (r.get("id"), record_of(r))).collect())
}

/// Removes every record about `owner`'s data, with the account (erasure).
pub async fn erase_owner(tx: &Transaction<'_>, owner: Uuid) -> Result<u64, StoreError> {
    execute(tx, ALLOW_REMOVAL, &[]).await?;
    execute(tx, ERASE_OWNER, &[&owner]).await
}
