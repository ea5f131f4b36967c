//! The device registry: each user's devices with the priorities they rank by.
//!
//! The processors rank from their own projection of these rows (`device_rankings`, built from
//! the registration and priority events); the reads rank from that projection too (see
//! [`crate::reads::rankings`]). This table is what the registry shows and where the names
//! come from.

use std::collections::HashMap;

use deadpool_postgres::{GenericClient, Transaction};
use serde::Serialize;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::sql::{execute, query, query_opt};
use crate::{statement, StoreError};

statement!(INSERT, "devices_insert");
statement!(LIST, "devices_list");
statement!(FIND, "devices_find");
statement!(FIND_BY_IDENTIFIER, "devices_find_by_identifier");
statement!(UPDATE_PRIORITIES, "devices_update_priorities");

/// A registered device. Serialises with the column names, which are also the API's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    pub id: Uuid,
    pub device_type: String,
    pub device_name: String,
    /// The client's own identifier of the device, unique per user.
    pub device_identifier: String,
    pub priority: i32,
    /// Per sample type overrides of `priority`, by type name.
    pub type_priorities: HashMap<String, i32>,
}

/// The outcome of [`insert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    Created,
    /// The user already has a device with this identifier; nothing was written.
    IdentifierTaken,
}

/// Registers `device` for `user_id`, or reports its identifier taken.
pub async fn insert(
    tx: &Transaction<'_>,
    user_id: Uuid,
    device: &Device,
) -> Result<Registration, StoreError> {
    let row = query_opt(
        tx,
        INSERT,
        &[
            &device.id,
            &user_id,
            &device.device_type,
            &device.device_name,
            &device.device_identifier,
            &device.priority,
            &overrides_json(&device.type_priorities),
        ],
    )
    .await?;
    Ok(match row {
        Some(_) => Registration::Created,
        None => Registration::IdentifierTaken,
    })
}

/// The user's devices, in registration order.
pub async fn list(client: &impl GenericClient, user_id: Uuid) -> Result<Vec<Device>, StoreError> {
    let rows = query(client, LIST, &[&user_id]).await?;
    Ok(rows.iter().map(device).collect())
}

/// The user's device `device_id`, if it is theirs.
pub async fn find(
    client: &impl GenericClient,
    user_id: Uuid,
    device_id: Uuid,
) -> Result<Option<Device>, StoreError> {
    let row = query_opt(client, FIND, &[&user_id, &device_id]).await?;
    Ok(row.as_ref().map(device))
}

/// The user's device with the client identifier `identifier`, if any.
pub async fn find_by_identifier(
    client: &impl GenericClient,
    user_id: Uuid,
    identifier: &str,
) -> Result<Option<Device>, StoreError> {
    let row = query_opt(client, FIND_BY_IDENTIFIER, &[&user_id, &identifier]).await?;
    Ok(row.as_ref().map(device))
}

/// Stores the device's priorities (general and per type).
pub async fn update_priorities(
    tx: &Transaction<'_>,
    user_id: Uuid,
    device: &Device,
) -> Result<(), StoreError> {
    execute(
        tx,
        UPDATE_PRIORITIES,
        &[
            &device.id,
            &user_id,
            &device.priority,
            &overrides_json(&device.type_priorities),
        ],
    )
    .await?;
    Ok(())
}

fn overrides_json(overrides: &HashMap<String, i32>) -> serde_json::Value {
    serde_json::to_value(overrides).expect("a map of integers serialises")
}

fn device(row: &Row) -> Device {
    Device {
        id: row.get(0),
        device_type: row.get(1),
        device_name: row.get(2),
        device_identifier: row.get(3),
        priority: row.get(4),
        // Written only from a checked map; an unreadable one ranks without overrides.
        type_priorities: serde_json::from_value(row.get(5)).unwrap_or_default(),
    }
}
