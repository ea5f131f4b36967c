//! Replays into a schema of their own (`healthpipe replay`): the statements around the
//! functions of migration 0016, which quote the schema and table names themselves.

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Transaction};

use crate::sql::{execute, query_one};
use crate::{statement, StoreError};

statement!(PREPARE, "replay_prepare");
statement!(COPY_FROZEN, "replay_copy_frozen");
statement!(SWAP, "replay_swap");
statement!(DROP, "replay_drop");
statement!(EXISTS, "replay_schema_exists");

/// Makes `schema` with empty copies of `tables` and its own `consumer_offsets` (nothing if
/// they exist: a replay resumes).
pub async fn prepare(
    client: &impl GenericClient,
    schema: &str,
    tables: &[&str],
) -> Result<(), StoreError> {
    execute(client, PREPARE, &[&schema, &tables]).await?;
    Ok(())
}

/// Copies the live day, week and month buckets starting before `horizon` into `schema`;
/// returns how many were not there yet. Day partials are not copied: the weeks and months
/// still combined from them start at or after `horizon`, so the replay computes them all.
pub async fn copy_frozen(
    client: &impl GenericClient,
    schema: &str,
    horizon: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let copied: i64 = query_one(client, COPY_FROZEN, &[&schema, &horizon])
        .await?
        .get(0);
    Ok(copied.max(0) as u64)
}

/// Swaps `tables` of `schema` with the live ones, inside `tx`.
pub async fn swap(tx: &Transaction<'_>, schema: &str, tables: &[&str]) -> Result<(), StoreError> {
    execute(tx, SWAP, &[&schema, &tables]).await?;
    Ok(())
}

/// Drops a schema a replay made.
pub async fn drop(client: &impl GenericClient, schema: &str) -> Result<(), StoreError> {
    execute(client, DROP, &[&schema]).await?;
    Ok(())
}

/// Whether `schema` exists.
pub async fn exists(client: &impl GenericClient, schema: &str) -> Result<bool, StoreError> {
    Ok(query_one(client, EXISTS, &[&schema]).await?.get(0))
}

/// `database_url` with `schema` first on the search path: the replay's processor writes its
/// tables and positions there, and reads the rest (the key store) from public.
pub fn url_in_schema(database_url: &str, schema: &str) -> String {
    let separator = if database_url.contains('?') { '&' } else { '?' };
    format!("{database_url}{separator}options=-c%20search_path%3D{schema}%2Cpublic")
}
