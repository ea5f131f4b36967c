//! Device rankings as the aggregation processor ranks: from its projection
//! `device_rankings`, written from the registration and priority-change events in the same
//! transactions as the aggregates. A read that ranks from here agrees with the stored
//! aggregates even while a priority change is still on its way through the log; the
//! registry's `devices` table would already show the new priority.

use std::collections::HashMap;

use deadpool_postgres::GenericClient;
use healthpipe_domain::{DeviceRanking, SampleType};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::sql::query;
use crate::{statement, StoreError};

statement!(LOAD, "rankings_load");

/// The ranking of each of `users` that has a ranked device (per-type overrides included).
pub async fn for_users(
    client: &impl GenericClient,
    users: &[Uuid],
) -> Result<HashMap<Uuid, DeviceRanking>, StoreError> {
    let rows = query(client, LOAD, &[&users]).await?;
    let mut rankings: HashMap<Uuid, DeviceRanking> = HashMap::new();
    for row in &rows {
        add(rankings.entry(row.get(0)).or_default(), row);
    }
    Ok(rankings)
}

/// The ranking of one user's devices; empty before the processor has seen any of them.
pub async fn for_user(
    client: &impl GenericClient,
    user_id: Uuid,
) -> Result<DeviceRanking, StoreError> {
    Ok(for_users(client, &[user_id])
        .await?
        .remove(&user_id)
        .unwrap_or_default())
}

/// Adds a row of `user_id, device_id, priority, type_priorities` to `ranking`. Overrides of a
/// type this build does not know are skipped, as the processor skips them.
fn add(ranking: &mut DeviceRanking, row: &Row) {
    let device = row.get::<_, Uuid>(1).to_string();
    ranking.set_priority(device.clone(), row.get::<_, i32>(2).into());
    let overrides: HashMap<String, i32> = serde_json::from_value(row.get(3)).unwrap_or_default();
    for (name, priority) in overrides {
        if let Ok(sample_type) = name.parse::<SampleType>() {
            ranking.set_type_priority(device.clone(), sample_type, priority.into());
        }
    }
}
