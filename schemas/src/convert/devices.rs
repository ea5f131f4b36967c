//! `DeviceRegistered` and `DevicePriorityChanged`: the ranking deduplication uses.

use std::collections::HashMap;

use healthpipe_domain::{Priority, SampleType};

use super::error::Field::Top;
use super::{micros, ConversionError, Ctx, Failure};
use crate::events as wire;
use crate::typed;

impl TryFrom<&wire::DeviceRegistered> for typed::DeviceRegistered {
    type Error = ConversionError;

    /// A `device_type` outside the domain's table fails: the gateway registers only the
    /// table's kinds.
    fn try_from(e: &wire::DeviceRegistered) -> Result<Self, Self::Error> {
        let (ctx, event_id) = Ctx::start::<wire::DeviceRegistered>(&e.event_id)?;
        Ok(typed::DeviceRegistered {
            event_id,
            user_id: ctx.id(Top("user_id"), &e.user_id)?,
            device_id: ctx.id(Top("device_id"), &e.device_id)?,
            device_type: ctx.parse(
                Top("device_type"),
                &e.device_type,
                Failure::UnknownDeviceType,
            )?,
            priority: Priority::new(e.priority),
            type_priorities: ctx.type_priorities("type_priorities", &e.type_priorities)?,
            registered_at: ctx.time(Top("registered_at"), e.registered_at)?,
        })
    }
}

impl From<&typed::DeviceRegistered> for wire::DeviceRegistered {
    fn from(e: &typed::DeviceRegistered) -> Self {
        wire::DeviceRegistered {
            event_id: e.event_id.to_string(),
            user_id: e.user_id.to_string(),
            device_id: e.device_id.to_string(),
            device_type: e.device_type.as_str().to_owned(),
            priority: e.priority.get(),
            type_priorities: wire_priorities(&e.type_priorities),
            registered_at: micros(e.registered_at),
        }
    }
}

impl TryFrom<&wire::DevicePriorityChanged> for typed::DevicePriorityChanged {
    type Error = ConversionError;

    fn try_from(e: &wire::DevicePriorityChanged) -> Result<Self, Self::Error> {
        let (ctx, event_id) = Ctx::start::<wire::DevicePriorityChanged>(&e.event_id)?;
        Ok(typed::DevicePriorityChanged {
            event_id,
            user_id: ctx.id(Top("user_id"), &e.user_id)?,
            device_id: ctx.id(Top("device_id"), &e.device_id)?,
            priority: Priority::new(e.priority),
            type_priorities: ctx.type_priorities("type_priorities", &e.type_priorities)?,
            changed_at: ctx.time(Top("changed_at"), e.changed_at)?,
        })
    }
}

impl From<&typed::DevicePriorityChanged> for wire::DevicePriorityChanged {
    fn from(e: &typed::DevicePriorityChanged) -> Self {
        wire::DevicePriorityChanged {
            event_id: e.event_id.to_string(),
            user_id: e.user_id.to_string(),
            device_id: e.device_id.to_string(),
            priority: e.priority.get(),
            type_priorities: wire_priorities(&e.type_priorities),
            changed_at: micros(e.changed_at),
        }
    }
}

fn wire_priorities(map: &HashMap<SampleType, Priority>) -> HashMap<String, i32> {
    map.iter()
        .map(|(t, p)| (t.as_str().to_owned(), p.get()))
        .collect()
}
