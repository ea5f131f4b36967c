//! The device registry: `POST|GET /api/v1/devices`, `PATCH /api/v1/devices/{id}`.
//! Registration and priority changes are events, because deduplication downstream ranks
//! devices by them.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use healthpipe_domain::{DeviceType, SampleType, UnknownDeviceType};
use healthpipe_schemas::{DevicePriorityChanged, DeviceRegistered};
use healthpipe_storage::accounts::devices::{self, Device};
use serde::Deserialize;
use uuid::Uuid;
use warp::http::StatusCode;
use warp::Reply;

use crate::accounts::check_text;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::outbox;
use crate::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    pub device_type: String,
    pub device_name: String,
    pub device_identifier: String,
    pub priority: Option<Whole>,
    pub type_priorities: Option<HashMap<String, Whole>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevicePatch {
    pub priority: Option<Whole>,
    pub type_priorities: Option<HashMap<String, Whole>>,
}

/// A priority: a whole number in the `i32` range, written `80` or `80.0` (JSON does not tell
/// the two apart, and JSON Schema's `integer` accepts both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Whole(pub i32);

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = f64::deserialize(d)?;
        if n.fract() == 0.0 && (i32::MIN as f64..=i32::MAX as f64).contains(&n) {
            Ok(Whole(n as i32))
        } else {
            Err(serde::de::Error::custom(format!(
                "{n} is not a whole number between {} and {}",
                i32::MIN,
                i32::MAX
            )))
        }
    }
}

/// Role: user. 201 for a new device, 200 with the existing one for a known identifier.
pub async fn register(
    state: Arc<AppState>,
    user: AuthUser,
    body: NewDevice,
) -> Result<warp::reply::Response, ApiError> {
    let device_type: DeviceType = body
        .device_type
        .parse()
        .map_err(|e: UnknownDeviceType| ApiError::Unprocessable(format!("device_type: {e}")))?;
    // Stored as sent: the rule only checks them.
    check_text("device_name", &body.device_name)?;
    check_text("device_identifier", &body.device_identifier)?;
    let type_priorities = check_type_priorities(body.type_priorities.unwrap_or_default())?;
    let device = Device {
        id: Uuid::new_v4(),
        priority: body
            .priority
            .map_or_else(|| device_type.default_priority().get(), |p| p.0),
        device_type: device_type.as_str().to_string(),
        device_name: body.device_name,
        device_identifier: body.device_identifier,
        type_priorities,
    };
    let (device, created) = ensure(&state, user.id, device).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(warp::reply::with_status(warp::reply::json(&device), status).into_response())
}

/// Registers `device` for `user_id` with its event, or finds the user's device with the
/// same identifier (then nothing is written); true if it was registered now. Either way
/// the device's registration event is in the log when this returns.
pub async fn ensure(
    state: &AppState,
    user_id: Uuid,
    device: Device,
) -> Result<(Device, bool), ApiError> {
    if let Some(existing) = find_by_identifier(state, user_id, &device.device_identifier).await? {
        // A retry after a 503 finds its device: its event is appended before the answer.
        outbox::drain(state, user_id).await?;
        return Ok((existing, false));
    }
    let mut db = state.db.get().await?;
    let tx = db.transaction().await?;
    if devices::insert(&tx, user_id, &device).await? == devices::Registration::IdentifierTaken {
        // A concurrent registration of the same identifier won the race.
        drop(tx);
        let existing = find_by_identifier(state, user_id, &device.device_identifier)
            .await?
            .ok_or_else(|| ApiError::Internal("device vanished after conflict".into()))?;
        drop(db);
        outbox::drain(state, user_id).await?;
        return Ok((existing, false));
    }
    let event = DeviceRegistered {
        event_id: Uuid::new_v4().to_string(),
        user_id: user_id.to_string(),
        device_id: device.id.to_string(),
        device_type: device.device_type.clone(),
        priority: device.priority,
        type_priorities: device.type_priorities.clone(),
        registered_at: Utc::now().timestamp_micros(),
    };
    outbox::record(&tx, state, user_id, &event).await?;
    tx.commit().await?;
    drop(db);
    outbox::drain(state, user_id).await?;
    Ok((device, true))
}

/// Role: user.
pub async fn list(state: Arc<AppState>, user: AuthUser) -> Result<impl Reply, ApiError> {
    let db = state.db.get().await?;
    Ok(warp::reply::json(&devices::list(&db, user.id).await?))
}

/// Role: user. 404 for a device of another user, as for one that does not exist.
pub async fn patch(
    state: Arc<AppState>,
    user: AuthUser,
    device_id: Uuid,
    body: DevicePatch,
) -> Result<impl Reply, ApiError> {
    let mut device = find(&state, user.id, device_id).await?;
    if let Some(priority) = body.priority {
        device.priority = priority.0;
    }
    if let Some(map) = body.type_priorities {
        device.type_priorities = check_type_priorities(map)?;
    }
    let mut db = state.db.get().await?;
    let tx = db.transaction().await?;
    devices::update_priorities(&tx, user.id, &device).await?;
    let event = DevicePriorityChanged {
        event_id: Uuid::new_v4().to_string(),
        user_id: user.id.to_string(),
        device_id: device.id.to_string(),
        priority: device.priority,
        type_priorities: device.type_priorities.clone(),
        changed_at: Utc::now().timestamp_micros(),
    };
    outbox::record(&tx, &state, user.id, &event).await?;
    tx.commit().await?;
    drop(db);
    outbox::drain(&state, user.id).await?;
    Ok(warp::reply::json(&device))
}

/// The caller's device `device_id`, or 404.
pub async fn find(state: &AppState, user_id: Uuid, device_id: Uuid) -> Result<Device, ApiError> {
    let db = state.db.get().await?;
    devices::find(&db, user_id, device_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no device {device_id}")))
}

async fn find_by_identifier(
    state: &AppState,
    user_id: Uuid,
    identifier: &str,
) -> Result<Option<Device>, ApiError> {
    let db = state.db.get().await?;
    Ok(devices::find_by_identifier(&db, user_id, identifier).await?)
}

fn check_type_priorities(map: HashMap<String, Whole>) -> Result<HashMap<String, i32>, ApiError> {
    for key in map.keys() {
        key.parse::<SampleType>().map_err(|_| {
            ApiError::Unprocessable(format!("type_priorities: {key:?} is not a sample type"))
        })?;
    }
    Ok(map.into_iter().map(|(k, v)| (k, v.0)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_are_whole_numbers_in_range() {
        let parse = |s: &str| serde_json::from_str::<Whole>(s).ok();
        assert_eq!(parse("80"), Some(Whole(80)));
        assert_eq!(parse("80.0"), Some(Whole(80)));
        assert_eq!(parse("-2147483648"), Some(Whole(i32::MIN)));
        assert_eq!(parse("2147483648"), None);
        assert_eq!(parse("1.5"), None);
        assert_eq!(parse("\"80\""), None);
    }
}
