//! The closed set of device kinds and their default deduplication priorities.
//!
//! The kind of a device decides where its data ranks until the user re-ranks it. That default
//! ranking lives in ONE table, [`DEVICE_TYPES`], next to the wire names, so the gateway (which
//! gives a new device its priority) and the importer (which names the device kind of every
//! source it reads) cannot disagree about it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::priority::Priority;

/// A kind of device. Serialized as its snake_case wire name (`"apple_watch"`).
///
/// `Ord` is declaration order, which is also the default ranking (best first); compare
/// [`DeviceType::default_priority`] to rank, never the variants themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum DeviceType {
    AppleWatch,
    Iphone,
    Ipad,
    ThirdPartyWearable,
    ThirdPartyScale,
    ManualEntry,
}

/// Everything the pipeline knows about one device kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceTypeSpec {
    pub device_type: DeviceType,
    /// The wire name, snake_case: the `device_type` of the API and of `DeviceRegistered`.
    pub name: &'static str,
    /// The priority a newly registered device of this kind gets when the client names none.
    pub default_priority: Priority,
}

/// The one table of device kinds, in the order of their default priority (best first).
///
/// Apple Health's ordering of sources: the watch measures best (worn all day, sensors on the
/// skin), then the phone, the tablet, third-party wearables, third-party scales; manual entries
/// are the last resort.
pub const DEVICE_TYPES: [DeviceTypeSpec; 6] = [
    spec(DeviceType::AppleWatch, "apple_watch", 100),
    spec(DeviceType::Iphone, "iphone", 80),
    spec(DeviceType::Ipad, "ipad", 70),
    spec(DeviceType::ThirdPartyWearable, "third_party_wearable", 50),
    spec(DeviceType::ThirdPartyScale, "third_party_scale", 40),
    spec(DeviceType::ManualEntry, "manual_entry", 10),
];

const fn spec(device_type: DeviceType, name: &'static str, priority: i32) -> DeviceTypeSpec {
    DeviceTypeSpec {
        device_type,
        name,
        default_priority: Priority::new(priority),
    }
}

impl DeviceType {
    /// Every device type, in table order.
    pub fn all() -> impl Iterator<Item = DeviceType> {
        DEVICE_TYPES.iter().map(|s| s.device_type)
    }

    pub fn spec(self) -> &'static DeviceTypeSpec {
        &DEVICE_TYPES[self as usize]
    }

    pub fn as_str(self) -> &'static str {
        self.spec().name
    }

    /// The priority a new device of this kind gets unless the client chooses one.
    pub fn default_priority(self) -> Priority {
        self.spec().default_priority
    }
}

/// A `device_type` that is not in the table. The name is kept for the API's message; it is
/// a device kind chosen by a client, never health data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown device type \"{name}\"; known types: {}", known_names())]
pub struct UnknownDeviceType {
    pub name: String,
}

fn known_names() -> String {
    DEVICE_TYPES
        .iter()
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(", ")
}

impl FromStr for DeviceType {
    type Err = UnknownDeviceType;

    /// Exact, case-sensitive match: the wire format has one spelling per kind.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DEVICE_TYPES
            .iter()
            .find(|spec| spec.name == s)
            .map(|spec| spec.device_type)
            .ok_or_else(|| UnknownDeviceType { name: s.to_owned() })
    }
}

impl TryFrom<String> for DeviceType {
    type Error = UnknownDeviceType;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<DeviceType> for &'static str {
    fn from(t: DeviceType) -> Self {
        t.as_str()
    }
}

impl fmt::Display for DeviceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_variant_order() {
        for (i, spec) in DEVICE_TYPES.iter().enumerate() {
            assert_eq!(spec.device_type as usize, i, "{}", spec.name);
        }
    }

    #[test]
    fn wire_names_are_todays_and_round_trip() {
        let names: Vec<&str> = DeviceType::all().map(DeviceType::as_str).collect();
        assert_eq!(
            names,
            [
                "apple_watch",
                "iphone",
                "ipad",
                "third_party_wearable",
                "third_party_scale",
                "manual_entry"
            ]
        );
        for t in DeviceType::all() {
            assert_eq!(t.as_str().parse::<DeviceType>(), Ok(t));
            assert_eq!(t.to_string(), t.as_str());
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
            assert_eq!(serde_json::from_str::<DeviceType>(&json).unwrap(), t);
        }
    }

    #[test]
    fn unknown_device_type_is_an_error_naming_it() {
        let err = "Apple_Watch".parse::<DeviceType>().unwrap_err();
        assert_eq!(err.name, "Apple_Watch");
        assert!(err.to_string().starts_with(
            "unknown device type \"Apple_Watch\"; known types: apple_watch, iphone, ipad"
        ));
        assert!("".parse::<DeviceType>().is_err());
        assert!(serde_json::from_str::<DeviceType>("\"garmin\"").is_err());
    }

    #[test]
    fn default_priorities_rank_watch_over_phone_over_third_parties_over_manual_entry() {
        let p = DeviceType::default_priority;
        assert_eq!(p(DeviceType::AppleWatch), Priority::new(100));
        assert_eq!(p(DeviceType::Iphone), Priority::new(80));
        assert_eq!(p(DeviceType::Ipad), Priority::new(70));
        assert_eq!(p(DeviceType::ThirdPartyWearable), Priority::new(50));
        assert_eq!(p(DeviceType::ThirdPartyScale), Priority::new(40));
        assert_eq!(p(DeviceType::ManualEntry), Priority::new(10));
        assert!(p(DeviceType::AppleWatch) > p(DeviceType::Iphone));
        assert!(p(DeviceType::Iphone) > p(DeviceType::ThirdPartyWearable));
        assert!(p(DeviceType::Iphone) > p(DeviceType::ThirdPartyScale));
        assert!(p(DeviceType::ThirdPartyScale) > p(DeviceType::ManualEntry));
        let mut by_priority: Vec<DeviceType> = DeviceType::all().collect();
        by_priority.sort_by_key(|t| std::cmp::Reverse(t.default_priority()));
        assert_eq!(by_priority, DeviceType::all().collect::<Vec<_>>());
    }
}
