//! Rust mirrors of the `.avsc` contracts. Field names and types follow the schemas exactly;
//! times are `timestamp-micros` (UTC microseconds since the Unix epoch) held as `i64`.
//! Optional fields carry `#[serde(default)]` so events written before a field existed
//! still decode.
//!
//! Every event about a user travels sealed: its record on the topic (the *envelope*,
//! `avro/healthpipe.events.<Name>.avsc`) holds in clear only the event id, the user id and
//! one time; the rest is the *content* (`avro/content/healthpipe.content.<Name>.avsc`),
//! encrypted with the user's data key. The Rust types below mirror the content, which
//! repeats the clear fields, so a decrypted event is complete on its own.

use std::collections::HashMap;

use apache_avro::types::Value;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// An event type: its envelope and content schemas, record names and clear fields.
pub trait Event: Serialize + DeserializeOwned + Send + Sync {
    /// Full Avro name of the envelope, e.g. `healthpipe.events.SamplesRecorded`: the event
    /// type as the topic and the registry show it.
    const FULL_NAME: &'static str;
    /// The envelope's `.avsc` text (clear fields and `sealed`).
    const SCHEMA: &'static str;
    /// Full Avro name of the sealed content, e.g. `healthpipe.content.SamplesRecorded`.
    const CONTENT_NAME: &'static str;
    /// The content's `.avsc` text: what the Rust type mirrors.
    const CONTENT_SCHEMA: &'static str;
    /// The envelope's clear time field.
    const CLEAR_TIME: &'static str;

    fn event_id(&self) -> &str;
    fn user_id(&self) -> &str;
    /// The value of [`Self::CLEAR_TIME`], shaped as the envelope's field.
    fn clear_time(&self) -> Value;
}

/// A `timestamp-micros` field's value.
fn micros(t: i64) -> Value {
    Value::TimestampMicros(t)
}

/// An optional `timestamp-micros` field's value (`["null", timestamp-micros]`).
fn optional_micros(t: Option<i64>) -> Value {
    match t {
        None => Value::Union(0, Box::new(Value::Null)),
        Some(t) => Value::Union(1, Box::new(Value::TimestampMicros(t))),
    }
}

macro_rules! event {
    ($ty:ident, $time:ident, $shape:ident) => {
        impl Event for $ty {
            const FULL_NAME: &'static str = concat!("healthpipe.events.", stringify!($ty));
            const SCHEMA: &'static str = include_str!(concat!(
                "../avro/healthpipe.events.",
                stringify!($ty),
                ".avsc"
            ));
            const CONTENT_NAME: &'static str = concat!("healthpipe.content.", stringify!($ty));
            const CONTENT_SCHEMA: &'static str = include_str!(concat!(
                "../avro/content/healthpipe.content.",
                stringify!($ty),
                ".avsc"
            ));
            const CLEAR_TIME: &'static str = stringify!($time);

            fn event_id(&self) -> &str {
                &self.event_id
            }
            fn user_id(&self) -> &str {
                &self.user_id
            }
            fn clear_time(&self) -> Value {
                $shape(self.$time)
            }
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
event!(SamplesRecorded, recorded_at, micros);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplesDeleted {
    pub event_id: String,
    pub user_id: String,
    pub sample_ids: Vec<String>,
    pub deleted_at: i64,
}
event!(SamplesDeleted, deleted_at, micros);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRegistered {
    pub event_id: String,
    pub user_id: String,
    pub timezone: String,
    pub registered_at: i64,
}
event!(UserRegistered, registered_at, micros);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserTimeZoneChanged {
    pub event_id: String,
    pub user_id: String,
    pub timezone: String,
    pub previous_timezone: String,
    pub changed_at: i64,
}
event!(UserTimeZoneChanged, changed_at, micros);

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
event!(DeviceRegistered, registered_at, micros);

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
event!(DevicePriorityChanged, changed_at, micros);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareGranted {
    pub event_id: String,
    pub user_id: String,
    pub share_id: String,
    pub recipient_email: String,
    pub sample_types: Vec<String>,
    pub date_start: String,
    pub date_end: String,
    pub expires_at: i64,
    pub label: String,
    pub code_digest: String,
    pub granted_at: i64,
}
event!(ShareGranted, granted_at, micros);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareRedeemed {
    pub event_id: String,
    pub user_id: String,
    pub share_id: String,
    pub provider_id: String,
    pub redeemed_at: i64,
}
event!(ShareRedeemed, redeemed_at, micros);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareRevoked {
    pub event_id: String,
    pub user_id: String,
    pub share_id: String,
    pub revoked_at: i64,
}
event!(ShareRevoked, revoked_at, micros);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InsightAcknowledged {
    pub event_id: String,
    pub user_id: String,
    pub insight_id: String,
    pub acknowledged_at: i64,
}
event!(InsightAcknowledged, acknowledged_at, micros);

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
event!(AggregatesUpdated, observed_at, optional_micros);

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
event!(InsightRaised, raised_at, micros);

/// The user deleted their account: appended after the user's data key was destroyed. The
/// one event about a user that is not sealed (see its `.avsc`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserErased {
    pub event_id: String,
    pub user_id: String,
    pub erased_at: i64,
}

impl UserErased {
    pub const FULL_NAME: &'static str = "healthpipe.events.UserErased";
    pub const SCHEMA: &'static str = include_str!("../avro/healthpipe.events.UserErased.avsc");
}

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
    ShareRedeemed(ShareRedeemed),
    ShareRevoked(ShareRevoked),
    InsightAcknowledged(InsightAcknowledged),
    UserErased(UserErased),
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
            Self::ShareRedeemed(e) => &e.user_id,
            Self::ShareRevoked(e) => &e.user_id,
            Self::InsightAcknowledged(e) => &e.user_id,
            Self::UserErased(e) => &e.user_id,
        }
    }
}
