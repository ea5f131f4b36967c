//! The events as typed domain values: what a processor works with once a message has been
//! decoded and converted.
//!
//! The wire types ([`crate::SamplesRecorded`], ...) mirror the `.avsc` files (strings and
//! microseconds), because that contract must not move. These types carry the same facts with
//! the domain's types: ids as [`UserId`]/[`DeviceId`]/[`SampleId`]/[`EventId`], kinds as
//! closed enums, times as `DateTime<Utc>`, zones as [`Tz`]. The crate's `convert` module is
//! the one place that turns one into the other; a wire event that does not convert is a
//! poison message, and its [`crate::ConversionError`] says which field and why.
//!
//! Field names follow the wire names, so the two read side by side.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use chrono_tz::Tz;
use healthpipe_domain::{
    DeviceId, DeviceType, Direction, EventId, Period, Priority, SampleId, SampleType, Severity,
    UserId,
};
use uuid::Uuid;

/// One measurement of a [`SamplesRecorded`], value in its type's canonical unit (the wire's
/// `unit` is checked to be that unit and is not kept: the type implies it).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedSample {
    pub sample_id: SampleId,
    pub sample_type: SampleType,
    /// Finite, in `sample_type.canonical_unit()`.
    pub value: f64,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    /// The offset the client wrote `start_time` with (the wire's `utc_offset_seconds`).
    pub utc_offset: FixedOffset,
    pub source_app: Option<String>,
    pub sync_identifier: Option<String>,
    pub sync_version: Option<i64>,
    pub metadata: HashMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SamplesRecorded {
    pub event_id: EventId,
    pub user_id: UserId,
    pub device_id: DeviceId,
    pub recorded_at: DateTime<Utc>,
    pub samples: Vec<RecordedSample>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SamplesDeleted {
    pub event_id: EventId,
    pub user_id: UserId,
    pub sample_ids: Vec<SampleId>,
    pub deleted_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserRegistered {
    pub event_id: EventId,
    pub user_id: UserId,
    pub timezone: Tz,
    pub registered_at: DateTime<Utc>,
}

/// The user's account was erased (see `events::UserErased`).
#[derive(Debug, Clone, PartialEq)]
pub struct UserErased {
    pub event_id: EventId,
    pub user_id: UserId,
    pub erased_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserTimeZoneChanged {
    pub event_id: EventId,
    pub user_id: UserId,
    pub timezone: Tz,
    pub previous_timezone: Tz,
    pub changed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRegistered {
    pub event_id: EventId,
    pub user_id: UserId,
    pub device_id: DeviceId,
    pub device_type: DeviceType,
    pub priority: Priority,
    pub type_priorities: HashMap<SampleType, Priority>,
    pub registered_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DevicePriorityChanged {
    pub event_id: EventId,
    pub user_id: UserId,
    pub device_id: DeviceId,
    pub priority: Priority,
    pub type_priorities: HashMap<SampleType, Priority>,
    pub changed_at: DateTime<Utc>,
}

/// A share grant, pending until the recipient redeems its access code.
#[derive(Debug, Clone, PartialEq)]
pub struct ShareGranted {
    pub event_id: EventId,
    pub user_id: UserId,
    pub share_id: Uuid,
    pub recipient_email: String,
    pub sample_types: Vec<SampleType>,
    pub date_start: NaiveDate,
    pub date_end: NaiveDate,
    pub expires_at: DateTime<Utc>,
    pub label: String,
    /// SHA-256 of the access code, hex.
    pub code_digest: String,
    pub granted_at: DateTime<Utc>,
}

/// A provider redeemed a grant's code. `provider_id` is the provider's account, a
/// [`UserId`] like every account.
#[derive(Debug, Clone, PartialEq)]
pub struct ShareRedeemed {
    pub event_id: EventId,
    pub user_id: UserId,
    pub share_id: Uuid,
    pub provider_id: UserId,
    pub redeemed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ShareRevoked {
    pub event_id: EventId,
    pub user_id: UserId,
    pub share_id: Uuid,
    pub revoked_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InsightAcknowledged {
    pub event_id: EventId,
    pub user_id: UserId,
    pub insight_id: Uuid,
    pub acknowledged_at: DateTime<Utc>,
}

/// One changed bucket of an [`AggregatesUpdated`]; `value`, `min_value` and `max_value` are
/// `None` when the bucket no longer has a row.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateBucket {
    pub sample_type: SampleType,
    pub period: Period,
    pub period_start: DateTime<Utc>,
    pub value: Option<f64>,
    pub sample_count: i64,
    pub min_value: Option<f64>,
    pub max_value: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AggregatesUpdated {
    pub event_id: EventId,
    pub user_id: UserId,
    pub buckets: Vec<AggregateBucket>,
    pub timezone: Option<Tz>,
    pub observed_at: Option<DateTime<Utc>>,
}

/// A version of an insight. `insight_type` and `status` stay strings: the rules own their
/// names (`HEART_RATE_TREND`, ...; `active`/`resolved`) and nothing downstream branches on them.
#[derive(Debug, Clone, PartialEq)]
pub struct InsightRaised {
    pub event_id: EventId,
    pub user_id: UserId,
    pub insight_id: Uuid,
    pub insight_type: String,
    pub severity: Severity,
    pub status: String,
    pub message: String,
    pub data_json: String,
    pub raised_at: DateTime<Utc>,
    pub direction: Option<Direction>,
    pub recommendation: String,
    pub rule_key: String,
}

/// Everything on the per-user stream, typed: the counterpart of [`crate::UserEvent`].
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
    pub fn user_id(&self) -> UserId {
        match self {
            Self::SamplesRecorded(e) => e.user_id,
            Self::SamplesDeleted(e) => e.user_id,
            Self::UserRegistered(e) => e.user_id,
            Self::UserTimeZoneChanged(e) => e.user_id,
            Self::DeviceRegistered(e) => e.user_id,
            Self::DevicePriorityChanged(e) => e.user_id,
            Self::ShareGranted(e) => e.user_id,
            Self::ShareRedeemed(e) => e.user_id,
            Self::ShareRevoked(e) => e.user_id,
            Self::InsightAcknowledged(e) => e.user_id,
            Self::UserErased(e) => e.user_id,
        }
    }

    /// The event's own id, to recognise a repeated delivery.
    pub fn event_id(&self) -> EventId {
        match self {
            Self::SamplesRecorded(e) => e.event_id,
            Self::SamplesDeleted(e) => e.event_id,
            Self::UserRegistered(e) => e.event_id,
            Self::UserTimeZoneChanged(e) => e.event_id,
            Self::DeviceRegistered(e) => e.event_id,
            Self::DevicePriorityChanged(e) => e.event_id,
            Self::ShareGranted(e) => e.event_id,
            Self::ShareRedeemed(e) => e.event_id,
            Self::ShareRevoked(e) => e.event_id,
            Self::InsightAcknowledged(e) => e.event_id,
            Self::UserErased(e) => e.event_id,
        }
    }
}

impl RecordedSample {
    /// The sample as deduplication and aggregation take it (string-keyed for now).
    pub fn to_domain(&self, device_id: DeviceId) -> healthpipe_domain::Sample {
        healthpipe_domain::Sample {
            id: self.sample_id.to_string(),
            device_id: device_id.to_string(),
            sample_type: self.sample_type,
            value: self.value,
            start: self.start_time,
            end: self.end_time,
        }
    }
}

impl SamplesRecorded {
    /// Every sample, as deduplication and aggregation take it.
    pub fn domain_samples(&self) -> impl Iterator<Item = healthpipe_domain::Sample> + '_ {
        self.samples.iter().map(|s| s.to_domain(self.device_id))
    }
}

/// The ranking entry of a device, from its registration or its latest priority change.
fn device_priority(
    priority: Priority,
    type_priorities: &HashMap<SampleType, Priority>,
) -> healthpipe_domain::DevicePriority {
    healthpipe_domain::DevicePriority {
        priority: priority.into(),
        type_priorities: type_priorities
            .iter()
            .map(|(t, p)| (*t, i64::from(*p)))
            .collect(),
    }
}

impl DeviceRegistered {
    /// The device's entry in a [`healthpipe_domain::DeviceRanking`].
    pub fn device_priority(&self) -> healthpipe_domain::DevicePriority {
        device_priority(self.priority, &self.type_priorities)
    }
}

impl DevicePriorityChanged {
    /// The device's new entry in a [`healthpipe_domain::DeviceRanking`].
    pub fn device_priority(&self) -> healthpipe_domain::DevicePriority {
        device_priority(self.priority, &self.type_priorities)
    }
}
