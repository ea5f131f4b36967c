//! Rust mirrors of the `.avsc` contracts. Field names and types follow the schemas exactly;
//! times are `timestamp-micros` (UTC microseconds since the Unix epoch) held as `i64`.
//! Optional fields carry `#[serde(default)]` so events written before a field existed
//! still decode.

use std::collections::HashMap;

use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// An event type: its Avro schema, full record name and the topic it lives on.
pub trait Event: Serialize + DeserializeOwned + Send + Sync {
    /// Full Avro record name, e.g. `healthpipe.events.SamplesRecorded`.
    const FULL_NAME: &'static str;
    /// The `.avsc` text.
    const SCHEMA: &'static str;
}

macro_rules! event {
    ($ty:ident, $file:literal) => {
        impl Event for $ty {
            const FULL_NAME: &'static str = concat!("healthpipe.events.", stringify!($ty));
            const SCHEMA: &'static str = include_str!(concat!("../avro/", $file));
        }
    };
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub sample_id: String,
    pub sample_type: String,
    pub value: f64,
    pub unit: String,
    pub start_time: i64,
    pub end_time: i64,
    pub utc_offset_seconds: i32,
    #[serde(default)]
    pub source_app: Option<String>,
    #[serde(default)]
    pub sync_identifier: Option<String>,
    #[serde(default)]
    pub sync_version: Option<i64>,
    #[serde(default)]
    pub metadata: HashMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplesRecorded {
    pub event_id: String,
    pub user_id: String,
    pub device_id: String,
    pub recorded_at: i64,
    pub samples: Vec<Sample>,
}
event!(SamplesRecorded, "healthpipe.events.SamplesRecorded.avsc");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplesDeleted {
    pub event_id: String,
    pub user_id: String,
    pub sample_ids: Vec<String>,
    pub deleted_at: i64,
}
event!(SamplesDeleted, "healthpipe.events.SamplesDeleted.avsc");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRegistered {
    pub event_id: String,
    pub user_id: String,
    pub timezone: String,
    pub registered_at: i64,
}
event!(UserRegistered, "healthpipe.events.UserRegistered.avsc");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserTimeZoneChanged {
    pub event_id: String,
    pub user_id: String,
    pub timezone: String,
    pub previous_timezone: String,
    pub changed_at: i64,
}
event!(
    UserTimeZoneChanged,
    "healthpipe.events.UserTimeZoneChanged.avsc"
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceRegistered {
    pub event_id: String,
    pub user_id: String,
    pub device_id: String,
    pub device_type: String,
    pub priority: i32,
    #[serde(default)]
    pub type_priorities: HashMap<String, i32>,
    pub registered_at: i64,
}
event!(DeviceRegistered, "healthpipe.events.DeviceRegistered.avsc");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DevicePriorityChanged {
    pub event_id: String,
    pub user_id: String,
    pub device_id: String,
    pub priority: i32,
    #[serde(default)]
    pub type_priorities: HashMap<String, i32>,
    pub changed_at: i64,
}
event!(
    DevicePriorityChanged,
    "healthpipe.events.DevicePriorityChanged.avsc"
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareGranted {
    pub event_id: String,
    pub user_id: String,
    pub share_id: String,
    pub provider_id: String,
    pub sample_types: Vec<String>,
    #[serde(default)]
    pub data_from: Option<i64>,
    pub expires_at: i64,
    pub granted_at: i64,
}
event!(ShareGranted, "healthpipe.events.ShareGranted.avsc");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareRevoked {
    pub event_id: String,
    pub user_id: String,
    pub share_id: String,
    pub revoked_at: i64,
}
event!(ShareRevoked, "healthpipe.events.ShareRevoked.avsc");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InsightAcknowledged {
    pub event_id: String,
    pub user_id: String,
    pub insight_id: String,
    pub acknowledged_at: i64,
}
event!(
    InsightAcknowledged,
    "healthpipe.events.InsightAcknowledged.avsc"
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregateBucket {
    pub sample_type: String,
    pub period: String,
    pub period_start: i64,
    #[serde(default)]
    pub value: Option<f64>,
    #[serde(default)]
    pub sample_count: i64,
    #[serde(default)]
    pub min_value: Option<f64>,
    #[serde(default)]
    pub max_value: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregatesUpdated {
    pub event_id: String,
    pub user_id: String,
    pub buckets: Vec<AggregateBucket>,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub observed_at: Option<i64>,
}
event!(
    AggregatesUpdated,
    "healthpipe.events.AggregatesUpdated.avsc"
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InsightRaised {
    pub event_id: String,
    pub user_id: String,
    pub insight_id: String,
    pub insight_type: String,
    pub severity: String,
    pub status: String,
    pub message: String,
    pub data_json: String,
    pub raised_at: i64,
    #[serde(default)]
    pub direction: Option<String>,
    #[serde(default)]
    pub recommendation: String,
    #[serde(default)]
    pub rule_key: String,
}
event!(InsightRaised, "healthpipe.events.InsightRaised.avsc");

/// Everything on the per-user stream, in one type so a processor sees one ordered log.
#[derive(Debug, Clone, PartialEq)]
pub enum UserEvent {
    SamplesRecorded(SamplesRecorded),
    SamplesDeleted(SamplesDeleted),
    UserRegistered(UserRegistered),
    UserTimeZoneChanged(UserTimeZoneChanged),
    DeviceRegistered(DeviceRegistered),
    DevicePriorityChanged(DevicePriorityChanged),
    ShareGranted(ShareGranted),
    ShareRevoked(ShareRevoked),
    InsightAcknowledged(InsightAcknowledged),
}

impl UserEvent {
    /// The user the event belongs to: the Kafka key.
    pub fn user_id(&self) -> &str {
        match self {
            Self::SamplesRecorded(e) => &e.user_id,
            Self::SamplesDeleted(e) => &e.user_id,
            Self::UserRegistered(e) => &e.user_id,
            Self::UserTimeZoneChanged(e) => &e.user_id,
            Self::DeviceRegistered(e) => &e.user_id,
            Self::DevicePriorityChanged(e) => &e.user_id,
            Self::ShareGranted(e) => &e.user_id,
            Self::ShareRevoked(e) => &e.user_id,
            Self::InsightAcknowledged(e) => &e.user_id,
        }
    }
}
