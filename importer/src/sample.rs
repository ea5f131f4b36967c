//! The output shapes: exactly what the gateway's device registration
//! (`POST /api/v1/devices`) and sync (`POST /api/v1/devices/{id}/sync`) bodies accept.
//!
//! Samples carry no `id`: the gateway then derives a stable one from the user, device, type,
//! times and value, so importing the same export twice stores every sample once.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
/// The device kinds and their default priorities are the domain's one table: the importer
/// only decides which kind a source is, the gateway ranks it by that kind.
pub use healthpipe_domain::DeviceType;
use healthpipe_domain::Priority;
use serde::Serialize;

/// Most samples the gateway takes in one sync request (`MAX_SAMPLES_PER_SYNC` there).
pub const MAX_SAMPLES_PER_SYNC: usize = 10_000;

/// Largest sync body the gateway reads (`MAX_SYNC_BODY_BYTES` there). Samples with much
/// metadata can reach it before the sample limit, so bodies are cut by size too.
pub const MAX_SYNC_BODY_BYTES: usize = 5 * 1024 * 1024;

/// One sample as the sync body lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncSample {
    /// Our SCREAMING_SNAKE type name, e.g. `"STEPS"`.
    #[serde(rename = "type")]
    pub sample_type: &'static str,
    pub value: f64,
    /// A unit string the gateway accepts for `sample_type`; it converts to canonical itself.
    pub unit: &'static str,
    /// Serialised as RFC 3339 with the offset the source wrote, because that offset is the
    /// only record of the wall clock the user saw.
    pub start_date: DateTime<FixedOffset>,
    pub end_date: DateTime<FixedOffset>,
    /// The app that wrote the sample (Apple Health's `sourceName`), kept verbatim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_app: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// Who recorded a sample: the fields of the registration body.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct DeviceInfo {
    pub device_type: DeviceType,
    /// Readable, at most [`MAX_DEVICE_FIELD_BYTES`] bytes.
    pub device_name: String,
    /// Stable across imports of the same source, at most [`MAX_DEVICE_FIELD_BYTES`] bytes.
    pub device_identifier: String,
}

impl DeviceInfo {
    /// Where the gateway ranks this device when it registers it without a priority: the
    /// default of its [`DeviceType`] in the domain's table.
    pub fn default_priority(&self) -> Priority {
        self.device_type.default_priority()
    }
}

/// The gateway refuses longer `device_name` / `device_identifier` values.
pub const MAX_DEVICE_FIELD_BYTES: usize = 200;

/// A device with the samples it recorded, in file order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportedDevice {
    #[serde(flatten)]
    pub device: DeviceInfo,
    pub samples: Vec<SyncSample>,
}

/// `{"samples": [...]}`, one sync request's body.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SyncBody<'a> {
    pub samples: &'a [SyncSample],
}

impl ImportedDevice {
    /// The body that registers this device (`device_type`, `device_name`, `device_identifier`).
    pub fn registration(&self) -> &DeviceInfo {
        &self.device
    }

    /// Sync bodies of at most `max_samples` samples each (clamped to 1..=10,000) and at most
    /// [`MAX_SYNC_BODY_BYTES`] of JSON, so a large export goes up in requests the gateway
    /// accepts. Only a single sample larger than the byte limit makes a larger body (alone).
    pub fn sync_bodies(&self, max_samples: usize) -> impl Iterator<Item = SyncBody<'_>> {
        let max_samples = max_samples.clamp(1, MAX_SAMPLES_PER_SYNC);
        let mut rest = self.samples.as_slice();
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let mut bytes = EMPTY_BODY_BYTES;
            let mut n = 0;
            while n < rest.len() && n < max_samples {
                let added = json_len(&rest[n]) + usize::from(n > 0);
                if n > 0 && bytes + added > MAX_SYNC_BODY_BYTES {
                    break;
                }
                bytes += added;
                n += 1;
            }
            let (samples, tail) = rest.split_at(n);
            rest = tail;
            Some(SyncBody { samples })
        })
    }

    /// How many samples of each type this device holds.
    pub fn counts_by_type(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for s in &self.samples {
            *counts.entry(s.sample_type).or_insert(0) += 1;
        }
        counts
    }
}

const EMPTY_BODY_BYTES: usize = r#"{"samples":[]}"#.len();

/// Length of a sample's JSON, without building the string.
fn json_len(sample: &SyncSample) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Serialising this struct cannot fail: every field is a plain value.
    let _ = serde_json::to_writer(&mut count, sample);
    count.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    fn steps(value: f64) -> SyncSample {
        SyncSample {
            sample_type: "STEPS",
            value,
            unit: "count",
            start_date: at("2017-10-23T08:15:00+02:00"),
            end_date: at("2017-10-23T08:30:00+02:00"),
            source_app: None,
            metadata: BTreeMap::new(),
        }
    }

    #[test]
    fn sample_serialises_to_the_gateway_shape() {
        let mut s = steps(612.0);
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"type": "STEPS", "value": 612.0, "unit": "count",
                   "start_date": "2017-10-23T08:15:00+02:00", "end_date": "2017-10-23T08:30:00+02:00"})
        );
        s.source_app = Some("Jonathan’s iPhone".into());
        s.metadata.insert("HKWasUserEntered".into(), "1".into());
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["source_app"], "Jonathan’s iPhone");
        assert_eq!(v["metadata"], json!({"HKWasUserEntered": "1"}));
        assert!(v.get("id").is_none());
    }

    #[test]
    fn device_registration_and_chunked_sync_bodies() {
        let device = ImportedDevice {
            device: DeviceInfo {
                device_type: DeviceType::ThirdPartyScale,
                device_name: "Renpho".into(),
                device_identifier: "apple-health:Renpho".into(),
            },
            samples: (0..5).map(|i| steps(f64::from(i))).collect(),
        };
        assert_eq!(
            serde_json::to_value(device.registration()).unwrap(),
            json!({"device_type": "third_party_scale", "device_name": "Renpho",
                   "device_identifier": "apple-health:Renpho"})
        );
        let sizes: Vec<usize> = device.sync_bodies(2).map(|b| b.samples.len()).collect();
        assert_eq!(sizes, [2, 2, 1]);
        assert_eq!(
            device.sync_bodies(0).count(),
            5,
            "a size of 0 is clamped to 1"
        );
        let body = serde_json::to_value(device.sync_bodies(10).next().unwrap()).unwrap();
        assert_eq!(body["samples"].as_array().unwrap().len(), 5);
        assert_eq!(device.counts_by_type()["STEPS"], 5);
    }

    #[test]
    fn sync_bodies_stay_under_the_byte_limit() {
        let mut big = steps(1.0);
        big.metadata
            .insert("blob".into(), "x".repeat(2 * 1024 * 1024));
        let device = ImportedDevice {
            device: DeviceInfo {
                device_type: DeviceType::Iphone,
                device_name: "p".into(),
                device_identifier: "p".into(),
            },
            samples: vec![big.clone(), big.clone(), big],
        };
        let bodies: Vec<SyncBody<'_>> = device.sync_bodies(MAX_SAMPLES_PER_SYNC).collect();
        assert_eq!(
            bodies.iter().map(|b| b.samples.len()).collect::<Vec<_>>(),
            [2, 1]
        );
        for body in bodies {
            let json = serde_json::to_string(&body).unwrap();
            assert!(json.len() <= MAX_SYNC_BODY_BYTES);
            assert_eq!(
                json_len(&body.samples[0]),
                serde_json::to_string(&body.samples[0]).unwrap().len()
            );
        }
        assert_eq!(
            EMPTY_BODY_BYTES,
            serde_json::to_string(&SyncBody { samples: &[] })
                .unwrap()
                .len()
        );
    }

    #[test]
    fn device_types_serialise_as_the_gateway_names() {
        for t in DeviceType::all() {
            assert_eq!(serde_json::to_value(t).unwrap(), json!(t.as_str()));
        }
        assert_eq!(
            serde_json::to_value(DeviceType::ThirdPartyWearable).unwrap(),
            json!("third_party_wearable")
        );
    }

    #[test]
    fn imported_devices_rank_by_the_domain_table() {
        let info = |device_type| DeviceInfo {
            device_type,
            device_name: "d".into(),
            device_identifier: "d".into(),
        };
        let watch = info(DeviceType::AppleWatch).default_priority();
        let phone = info(DeviceType::Iphone).default_priority();
        let scale = info(DeviceType::ThirdPartyScale).default_priority();
        let manual = info(DeviceType::ManualEntry).default_priority();
        assert!(watch > phone && phone > scale && scale > manual);
        assert_eq!(watch, DeviceType::AppleWatch.default_priority());
    }
}
