//! Which device a record belongs to, from its `sourceName` and `device` attributes.
//!
//! The `device` attribute is a description like
//! `<<HKDevice: 0x174294140>, name:iPhone, manufacturer:Apple, model:iPhone, hardware:iPhone8,1, software:10.0>`.
//! Its `0x…` address changes from record to record, so identity comes from the source name
//! plus the hardware (else model, else name) part. Records a person typed in
//! (`HKWasUserEntered=1`) form one separate "manual entry" device, because deduplication
//! ranks typed-in values below measured ones whatever app they were typed into.

use crate::sample::{DeviceInfo, DeviceType, MAX_DEVICE_FIELD_BYTES};

/// The parts of a device description that we use.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct HkDevice {
    pub name: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub hardware: Option<String>,
}

/// Splits the description into its `key:value` parts. Values may themselves contain commas
/// (`hardware:iPhone8,1`, even `", "` in a name), so a part without a `key:` prefix continues
/// the previous value.
pub(crate) fn parse_device(text: &str) -> HkDevice {
    let inner = text.trim();
    let inner = inner.strip_prefix('<').unwrap_or(inner);
    let inner = inner.strip_suffix('>').unwrap_or(inner);
    let mut fields: Vec<(&str, String)> = Vec::new();
    for part in inner.split(", ") {
        match part.split_once(':') {
            Some((key, value))
                if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                fields.push((key, value.to_owned()));
            }
            _ => {
                if let Some((_, value)) = fields.last_mut() {
                    value.push_str(", ");
                    value.push_str(part);
                }
            }
        }
    }
    let get = |wanted: &str| {
        fields
            .iter()
            .find(|(k, v)| *k == wanted && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
    };
    HkDevice {
        name: get("name"),
        manufacturer: get("manufacturer"),
        model: get("model"),
        hardware: get("hardware"),
    }
}

/// The device a record is attributed to.
pub(crate) fn device_info(
    source_name: &str,
    device: Option<&HkDevice>,
    user_entered: bool,
) -> DeviceInfo {
    if user_entered {
        return DeviceInfo {
            device_type: DeviceType::ManualEntry,
            device_name: "Manual entries (Apple Health)".to_owned(),
            device_identifier: "apple-health:manual-entry".to_owned(),
        };
    }
    let part = device.and_then(|d| d.hardware.as_ref().or(d.model.as_ref()).or(d.name.as_ref()));
    let (name, identifier) = match part {
        Some(hw) => (
            format!("{source_name} ({hw})"),
            format!("apple-health:{}:{}", escape(source_name), escape(hw)),
        ),
        None => (
            source_name.to_owned(),
            format!("apple-health:{}", escape(source_name)),
        ),
    };
    DeviceInfo {
        device_type: guess_type(source_name, device),
        device_name: truncate_name(&name),
        device_identifier: bound_identifier(identifier),
    }
}

/// Lower-case fragments of scale makers' and apps' names.
const SCALE_HINTS: &[&str] = &[
    "withings",
    "health mate",
    "renpho",
    "eufy",
    "fitindex",
    "scale",
    "body",
];

/// A best guess, used only for the gateway's default ranking; a user can re-rank devices.
fn guess_type(source_name: &str, device: Option<&HkDevice>) -> DeviceType {
    let described = device
        .into_iter()
        .flat_map(|d| [&d.hardware, &d.model, &d.name])
        .flatten();
    for text in described.map(String::as_str).chain([source_name]) {
        if text.contains("Watch") {
            return DeviceType::AppleWatch;
        }
        if text.contains("iPhone") {
            return DeviceType::Iphone;
        }
        if text.contains("iPad") {
            return DeviceType::Ipad;
        }
    }
    // The Health app itself runs on the phone; old iOS attributed the phone's steps to it.
    if source_name == "Health" {
        return DeviceType::Iphone;
    }
    let maker = device.and_then(|d| d.manufacturer.as_deref()).unwrap_or("");
    let names = format!("{source_name} {maker}").to_lowercase();
    if SCALE_HINTS.iter().any(|hint| names.contains(hint)) {
        return DeviceType::ThirdPartyScale;
    }
    DeviceType::ThirdPartyWearable
}

/// Keeps identifier parts unambiguous: `:` separates them.
fn escape(part: &str) -> String {
    part.replace('%', "%25").replace(':', "%3A")
}

/// Cuts at a character boundary so that no name exceeds the gateway's limit.
fn truncate_name(name: &str) -> String {
    if name.len() <= MAX_DEVICE_FIELD_BYTES {
        return name.to_owned();
    }
    let mut end = MAX_DEVICE_FIELD_BYTES - '…'.len_utf8();
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &name[..end])
}

/// Over-long identifiers keep a prefix plus a hash of the whole, so they stay unique and stable.
fn bound_identifier(identifier: String) -> String {
    if identifier.len() <= MAX_DEVICE_FIELD_BYTES {
        return identifier;
    }
    let hash = fnv1a(identifier.as_bytes());
    let mut end = MAX_DEVICE_FIELD_BYTES - 17;
    while !identifier.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}~{hash:016x}", &identifier[..end])
}

/// FNV-1a, 64 bit: stable across Rust versions, unlike `DefaultHasher`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const IPHONE: &str =
        "<<HKDevice: 0x174294140>, name:iPhone, manufacturer:Apple, model:iPhone, hardware:iPhone8,1, software:10.0>";

    #[test]
    fn description_parts_are_found_and_the_address_ignored() {
        let d = parse_device(IPHONE);
        assert_eq!(d.name.as_deref(), Some("iPhone"));
        assert_eq!(d.manufacturer.as_deref(), Some("Apple"));
        assert_eq!(d.hardware.as_deref(), Some("iPhone8,1"));
        let other = parse_device(&IPHONE.replace("0x174294140", "0x174294190"));
        assert_eq!(d, other);
        let odd = parse_device("<<HKDevice: 0x1>, name:Tom, Jr.’s scale, manufacturer:, model:>");
        assert_eq!(odd.name.as_deref(), Some("Tom, Jr.’s scale"));
        assert_eq!(odd.manufacturer, None);
        assert_eq!(parse_device("garbage"), HkDevice::default());
    }

    #[test]
    fn identity_is_source_plus_hardware() {
        let d = parse_device(IPHONE);
        let info = device_info("Jonathan’s iPhone", Some(&d), false);
        assert_eq!(
            info.device_identifier,
            "apple-health:Jonathan’s iPhone:iPhone8,1"
        );
        assert_eq!(info.device_name, "Jonathan’s iPhone (iPhone8,1)");
        assert_eq!(info.device_type, DeviceType::Iphone);
        let garmin = device_info("Connect", None, false);
        assert_eq!(garmin.device_identifier, "apple-health:Connect");
        assert_eq!(garmin.device_type, DeviceType::ThirdPartyWearable);
        assert_eq!(
            device_info("a:b", None, false).device_identifier,
            "apple-health:a%3Ab"
        );
    }

    #[test]
    fn user_entered_records_share_one_manual_device() {
        let d = parse_device(IPHONE);
        let a = device_info("Health", None, true);
        let b = device_info("One Drop", Some(&d), true);
        assert_eq!(a, b);
        assert_eq!(a.device_type, DeviceType::ManualEntry);
    }

    #[test]
    fn types_are_guessed_from_apple_names_then_scale_makers() {
        let watch = parse_device("<<HKDevice: 0x2>, name:Apple Watch, manufacturer:Apple Inc., model:Watch, hardware:Watch6,7>");
        assert_eq!(
            guess_type("Alexandre's Apple Watch", Some(&watch)),
            DeviceType::AppleWatch
        );
        assert_eq!(
            guess_type("DonorTwo’s Apple Watch", None),
            DeviceType::AppleWatch
        );
        assert_eq!(guess_type("Jane’s iPad", None), DeviceType::Ipad);
        assert_eq!(guess_type("Health", None), DeviceType::Iphone);
        assert_eq!(guess_type("Health Mate", None), DeviceType::ThirdPartyScale);
        assert_eq!(guess_type("Renpho", None), DeviceType::ThirdPartyScale);
        let withings = HkDevice {
            manufacturer: Some("Withings".into()),
            ..HkDevice::default()
        };
        assert_eq!(
            guess_type("Sync app", Some(&withings)),
            DeviceType::ThirdPartyScale
        );
        assert_eq!(guess_type("Connect", None), DeviceType::ThirdPartyWearable);
        assert_eq!(guess_type("🕛🕐🕑🕒", None), DeviceType::ThirdPartyWearable);
    }

    #[test]
    fn long_names_are_bounded_at_character_boundaries() {
        let long = "🏃".repeat(80); // 320 bytes
        let info = device_info(&long, None, false);
        assert!(info.device_name.len() <= MAX_DEVICE_FIELD_BYTES);
        assert!(info.device_name.ends_with('…'));
        assert!(info.device_identifier.len() <= MAX_DEVICE_FIELD_BYTES);
        assert_eq!(info, device_info(&long, None, false), "stable");
        assert_ne!(
            info.device_identifier,
            device_info(&format!("{long}x"), None, false).device_identifier
        );
    }
}
