//! The one place where wire events ([`crate::events`]) become typed domain values
//! ([`crate::typed`]) and back.
//!
//! Wire → typed is a `TryFrom<&wire>`: a field that does not parse gives a
//! [`ConversionError`] naming the event, its id (when that parsed), the field and why, so a
//! processor can send the message to the dead-letter topic with that reason instead of
//! skipping it silently. The error never carries a field's value: values are health data and
//! names are personal, and the reason lands in logs and on the dead-letter topic.
//!
//! Typed → wire is a `From<&typed>` and cannot fail; wire → typed → wire gives back the same
//! event. Nothing here changes the contract: the `.avsc` files and [`crate::events`] stay as
//! they are.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, Utc};
use chrono_tz::Tz;
use healthpipe_domain::{parse_uuid, EventId, InvalidId, Priority, SampleType};
use uuid::Uuid;

use crate::events::{self as wire, Event};
use crate::typed;

/// A wire event that cannot become typed domain values: a poison message, retrying will not
/// help. Carries names only, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{event} {}: field `{field}` {failure}", EventLabel(*.event_id))]
pub struct ConversionError {
    /// The record name, e.g. `SamplesRecorded`.
    pub event: &'static str,
    /// The event's id, unless the `event_id` itself is what failed.
    pub event_id: Option<EventId>,
    /// The field, with its place in a list or map: `user_id`, `samples[3].sample_type`,
    /// `sample_ids[0]`, `type_priorities[key]`.
    pub field: String,
    pub failure: ConversionFailure,
}

impl ConversionError {
    /// A short, bounded code for the dead-letter header or a metric label.
    pub fn code(&self) -> &'static str {
        self.failure.code()
    }
}

/// Why a field did not convert. Each message says what the field should have been.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConversionFailure {
    #[error("is not a hyphenated UUID")]
    MalformedId,
    #[error("is not a known sample type")]
    UnknownSampleType,
    #[error("is not a known device type")]
    UnknownDeviceType,
    #[error("is not a known period (hour, day, week, month)")]
    UnknownPeriod,
    #[error("is not an IANA time zone name")]
    UnknownTimeZone,
    #[error("is not a known severity (info, warning, critical)")]
    UnknownSeverity,
    #[error("is not a known direction (up, down)")]
    UnknownDirection,
    #[error("is not the canonical unit of the sample's type")]
    NotCanonicalUnit,
    #[error("is not a finite number")]
    NotFinite,
    #[error("is outside the instants a timestamp can hold")]
    TimeOutOfRange,
    #[error("is not a UTC offset strictly between -24 h and +24 h")]
    OffsetOutOfRange,
}

impl ConversionFailure {
    pub fn code(self) -> &'static str {
        match self {
            Self::MalformedId => "malformed_id",
            Self::UnknownSampleType => "unknown_sample_type",
            Self::UnknownDeviceType => "unknown_device_type",
            Self::UnknownPeriod => "unknown_period",
            Self::UnknownTimeZone => "unknown_time_zone",
            Self::UnknownSeverity => "unknown_severity",
            Self::UnknownDirection => "unknown_direction",
            Self::NotCanonicalUnit => "not_canonical_unit",
            Self::NotFinite => "not_finite",
            Self::TimeOutOfRange => "time_out_of_range",
            Self::OffsetOutOfRange => "offset_out_of_range",
        }
    }
}

/// `event <id>`, or a note that the id itself did not parse.
struct EventLabel(Option<EventId>);

impl fmt::Display for EventLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(id) => write!(f, "event {id}"),
            None => f.write_str("event (id unreadable)"),
        }
    }
}

/// Where a field sits; rendered only when a conversion fails.
#[derive(Debug, Clone, Copy)]
enum Field {
    Top(&'static str),
    /// A field of the `index`th record of a list: `samples[3].value`.
    Nested(&'static str, usize, &'static str),
    /// The `index`th string of a list: `sample_ids[0]`.
    Item(&'static str, usize),
    /// A key of a map: `type_priorities[key]` (the key itself is not shown).
    Key(&'static str),
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Top(name) => f.write_str(name),
            Field::Nested(list, index, name) => write!(f, "{list}[{index}].{name}"),
            Field::Item(list, index) => write!(f, "{list}[{index}]"),
            Field::Key(map) => write!(f, "{map}[key]"),
        }
    }
}

use ConversionFailure as Failure;
use Field::{Item, Key, Nested, Top};

/// The event being converted, for the errors.
struct Ctx {
    event: &'static str,
    event_id: Option<EventId>,
}

impl Ctx {
    /// Starts with the event id, so every later error names the event it belongs to.
    fn start<E: Event>(event_id: &str) -> Result<(Ctx, EventId), ConversionError> {
        let event = E::FULL_NAME.rsplit('.').next().unwrap_or(E::FULL_NAME);
        let mut ctx = Ctx {
            event,
            event_id: None,
        };
        let id = ctx.id(Top("event_id"), event_id)?;
        ctx.event_id = Some(id);
        Ok((ctx, id))
    }

    fn fail(&self, field: Field, failure: ConversionFailure) -> ConversionError {
        ConversionError {
            event: self.event,
            event_id: self.event_id,
            field: field.to_string(),
            failure,
        }
    }

    /// Parses `text`; any parse error becomes `failure` (the parser's own message may quote
    /// the text, so it is dropped).
    fn parse<T: FromStr>(
        &self,
        field: Field,
        text: &str,
        failure: ConversionFailure,
    ) -> Result<T, ConversionError> {
        text.parse().map_err(|_| self.fail(field, failure))
    }

    fn id<T: FromStr<Err = InvalidId>>(
        &self,
        field: Field,
        text: &str,
    ) -> Result<T, ConversionError> {
        self.parse(field, text, Failure::MalformedId)
    }

    /// An id that has no type of its own (shares, insights), by the same rule.
    fn uuid(&self, field: Field, text: &str) -> Result<Uuid, ConversionError> {
        parse_uuid(text).ok_or_else(|| self.fail(field, Failure::MalformedId))
    }

    fn sample_type(&self, field: Field, text: &str) -> Result<SampleType, ConversionError> {
        self.parse(field, text, Failure::UnknownSampleType)
    }

    fn zone(&self, field: Field, text: &str) -> Result<Tz, ConversionError> {
        self.parse(field, text, Failure::UnknownTimeZone)
    }

    fn time(&self, field: Field, micros: i64) -> Result<DateTime<Utc>, ConversionError> {
        DateTime::from_timestamp_micros(micros)
            .ok_or_else(|| self.fail(field, Failure::TimeOutOfRange))
    }

    fn optional_time(
        &self,
        field: Field,
        micros: Option<i64>,
    ) -> Result<Option<DateTime<Utc>>, ConversionError> {
        micros.map(|m| self.time(field, m)).transpose()
    }

    fn type_priorities(
        &self,
        field: &'static str,
        map: &HashMap<String, i32>,
    ) -> Result<HashMap<SampleType, Priority>, ConversionError> {
        map.iter()
            .map(|(name, p)| Ok((self.sample_type(Key(field), name)?, Priority::new(*p))))
            .collect()
    }
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn wire_priorities(map: &HashMap<SampleType, Priority>) -> HashMap<String, i32> {
    map.iter()
        .map(|(t, p)| (t.as_str().to_owned(), p.get()))
        .collect()
}

fn sample(
    ctx: &Ctx,
    index: usize,
    s: &wire::Sample,
) -> Result<typed::RecordedSample, ConversionError> {
    let at = |name| Nested("samples", index, name);
    let sample_id = ctx.id(at("sample_id"), &s.sample_id)?;
    let sample_type = ctx.sample_type(at("sample_type"), &s.sample_type)?;
    if s.unit != sample_type.canonical_unit().symbol() {
        return Err(ctx.fail(at("unit"), Failure::NotCanonicalUnit));
    }
    if !s.value.is_finite() {
        return Err(ctx.fail(at("value"), Failure::NotFinite));
    }
    Ok(typed::RecordedSample {
        sample_id,
        sample_type,
        value: s.value,
        start_time: ctx.time(at("start_time"), s.start_time)?,
        end_time: ctx.time(at("end_time"), s.end_time)?,
        utc_offset: FixedOffset::east_opt(s.utc_offset_seconds)
            .ok_or_else(|| ctx.fail(at("utc_offset_seconds"), Failure::OffsetOutOfRange))?,
        source_app: s.source_app.clone(),
        sync_identifier: s.sync_identifier.clone(),
        sync_version: s.sync_version,
        metadata: s.metadata.clone(),
    })
}

impl From<&typed::RecordedSample> for wire::Sample {
    fn from(s: &typed::RecordedSample) -> Self {
        wire::Sample {
            sample_id: s.sample_id.to_string(),
            sample_type: s.sample_type.as_str().to_owned(),
            value: s.value,
            unit: s.sample_type.canonical_unit().symbol().to_owned(),
            start_time: micros(s.start_time),
            end_time: micros(s.end_time),
            utc_offset_seconds: s.utc_offset.local_minus_utc(),
            source_app: s.source_app.clone(),
            sync_identifier: s.sync_identifier.clone(),
            sync_version: s.sync_version,
            metadata: s.metadata.clone(),
        }
    }
}

impl TryFrom<&wire::SamplesRecorded> for typed::SamplesRecorded {
    type Error = ConversionError;

    fn try_from(e: &wire::SamplesRecorded) -> Result<Self, Self::Error> {
        let (ctx, event_id) = Ctx::start::<wire::SamplesRecorded>(&e.event_id)?;
        Ok(typed::SamplesRecorded {
            event_id,
            user_id: ctx.id(Top("user_id"), &e.user_id)?,
            device_id: ctx.id(Top("device_id"), &e.device_id)?,
            recorded_at: ctx.time(Top("recorded_at"), e.recorded_at)?,
            samples: e
                .samples
                .iter()
                .enumerate()
                .map(|(i, s)| sample(&ctx, i, s))
                .collect::<Result<_, _>>()?,
        })
    }
}

impl From<&typed::SamplesRecorded> for wire::SamplesRecorded {
    fn from(e: &typed::SamplesRecorded) -> Self {
        wire::SamplesRecorded {
            event_id: e.event_id.to_string(),
            user_id: e.user_id.to_string(),
            device_id: e.device_id.to_string(),
            recorded_at: micros(e.recorded_at),
            samples: e.samples.iter().map(wire::Sample::from).collect(),
        }
    }
}

impl TryFrom<&wire::SamplesDeleted> for typed::SamplesDeleted {
    type Error = ConversionError;

    fn try_from(e: &wire::SamplesDeleted) -> Result<Self, Self::Error> {
        let (ctx, event_id) = Ctx::start::<wire::SamplesDeleted>(&e.event_id)?;
        Ok(typed::SamplesDeleted {
            event_id,
            user_id: ctx.id(Top("user_id"), &e.user_id)?,
            sample_ids: e
                .sample_ids
                .iter()
                .enumerate()
                .map(|(i, id)| ctx.id(Item("sample_ids", i), id))
                .collect::<Result<_, _>>()?,
            deleted_at: ctx.time(Top("deleted_at"), e.deleted_at)?,
        })
    }
}

impl From<&typed::SamplesDeleted> for wire::SamplesDeleted {
    fn from(e: &typed::SamplesDeleted) -> Self {
        wire::SamplesDeleted {
            event_id: e.event_id.to_string(),
            user_id: e.user_id.to_string(),
            sample_ids: e.sample_ids.iter().map(ToString::to_string).collect(),
            deleted_at: micros(e.deleted_at),
        }
    }
}

impl TryFrom<&wire::UserRegistered> for typed::UserRegistered {
    type Error = ConversionError;

    fn try_from(e: &wire::UserRegistered) -> Result<Self, Self::Error> {
        let (ctx, event_id) = Ctx::start::<wire::UserRegistered>(&e.event_id)?;
        Ok(typed::UserRegistered {
            event_id,
            user_id: ctx.id(Top("user_id"), &e.user_id)?,
            timezone: ctx.zone(Top("timezone"), &e.timezone)?,
            registered_at: ctx.time(Top("registered_at"), e.registered_at)?,
        })
    }
}

impl From<&typed::UserRegistered> for wire::UserRegistered {
    fn from(e: &typed::UserRegistered) -> Self {
        wire::UserRegistered {
            event_id: e.event_id.to_string(),
            user_id: e.user_id.to_string(),
            timezone: e.timezone.name().to_owned(),
            registered_at: micros(e.registered_at),
        }
    }
}

impl TryFrom<&wire::UserTimeZoneChanged> for typed::UserTimeZoneChanged {
    type Error = ConversionError;

    fn try_from(e: &wire::UserTimeZoneChanged) -> Result<Self, Self::Error> {
        let (ctx, event_id) = Ctx::start::<wire::UserTimeZoneChanged>(&e.event_id)?;
        Ok(typed::UserTimeZoneChanged {
            event_id,
            user_id: ctx.id(Top("user_id"), &e.user_id)?,
            timezone: ctx.zone(Top("timezone"), &e.timezone)?,
            previous_timezone: ctx.zone(Top("previous_timezone"), &e.previous_timezone)?,
            changed_at: ctx.time(Top("changed_at"), e.changed_at)?,
        })
    }
}

impl From<&typed::UserTimeZoneChanged> for wire::UserTimeZoneChanged {
    fn from(e: &typed::UserTimeZoneChanged) -> Self {
        wire::UserTimeZoneChanged {
            event_id: e.event_id.to_string(),
            user_id: e.user_id.to_string(),
            timezone: e.timezone.name().to_owned(),
            previous_timezone: e.previous_timezone.name().to_owned(),
            changed_at: micros(e.changed_at),
        }
    }
}

impl TryFrom<&wire::DeviceRegistered> for typed::DeviceRegistered {
    type Error = ConversionError;

    /// A `device_type` outside the domain's table fails, although the `.avsc` documents
    /// "another client-chosen name" as possible: the gateway still accepts such names today.
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

impl TryFrom<&wire::ShareGranted> for typed::ShareGranted {
    type Error = ConversionError;

    fn try_from(e: &wire::ShareGranted) -> Result<Self, Self::Error> {
        let (ctx, event_id) = Ctx::start::<wire::ShareGranted>(&e.event_id)?;
        Ok(typed::ShareGranted {
            event_id,
            user_id: ctx.id(Top("user_id"), &e.user_id)?,
            share_id: ctx.uuid(Top("share_id"), &e.share_id)?,
            provider_id: ctx.id(Top("provider_id"), &e.provider_id)?,
            sample_types: e
                .sample_types
                .iter()
                .enumerate()
                .map(|(i, t)| ctx.sample_type(Item("sample_types", i), t))
                .collect::<Result<_, _>>()?,
            data_from: ctx.optional_time(Top("data_from"), e.data_from)?,
            expires_at: ctx.time(Top("expires_at"), e.expires_at)?,
            granted_at: ctx.time(Top("granted_at"), e.granted_at)?,
        })
    }
}

impl From<&typed::ShareGranted> for wire::ShareGranted {
    fn from(e: &typed::ShareGranted) -> Self {
        wire::ShareGranted {
            event_id: e.event_id.to_string(),
            user_id: e.user_id.to_string(),
            share_id: e.share_id.to_string(),
            provider_id: e.provider_id.to_string(),
            sample_types: e
                .sample_types
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect(),
            data_from: e.data_from.map(micros),
            expires_at: micros(e.expires_at),
            granted_at: micros(e.granted_at),
        }
    }
}

impl TryFrom<&wire::ShareRevoked> for typed::ShareRevoked {
    type Error = ConversionError;

    fn try_from(e: &wire::ShareRevoked) -> Result<Self, Self::Error> {
        let (ctx, event_id) = Ctx::start::<wire::ShareRevoked>(&e.event_id)?;
        Ok(typed::ShareRevoked {
            event_id,
            user_id: ctx.id(Top("user_id"), &e.user_id)?,
            share_id: ctx.uuid(Top("share_id"), &e.share_id)?,
            revoked_at: ctx.time(Top("revoked_at"), e.revoked_at)?,
        })
    }
}

impl From<&typed::ShareRevoked> for wire::ShareRevoked {
    fn from(e: &typed::ShareRevoked) -> Self {
        wire::ShareRevoked {
            event_id: e.event_id.to_string(),
            user_id: e.user_id.to_string(),
            share_id: e.share_id.to_string(),
            revoked_at: micros(e.revoked_at),
        }
    }
}

impl TryFrom<&wire::InsightAcknowledged> for typed::InsightAcknowledged {
    type Error = ConversionError;

    fn try_from(e: &wire::InsightAcknowledged) -> Result<Self, Self::Error> {
        let (ctx, event_id) = Ctx::start::<wire::InsightAcknowledged>(&e.event_id)?;
        Ok(typed::InsightAcknowledged {
            event_id,
            user_id: ctx.id(Top("user_id"), &e.user_id)?,
            insight_id: ctx.uuid(Top("insight_id"), &e.insight_id)?,
            acknowledged_at: ctx.time(Top("acknowledged_at"), e.acknowledged_at)?,
        })
    }
}

impl From<&typed::InsightAcknowledged> for wire::InsightAcknowledged {
    fn from(e: &typed::InsightAcknowledged) -> Self {
        wire::InsightAcknowledged {
            event_id: e.event_id.to_string(),
            user_id: e.user_id.to_string(),
            insight_id: e.insight_id.to_string(),
            acknowledged_at: micros(e.acknowledged_at),
        }
    }
}

fn bucket(
    ctx: &Ctx,
    index: usize,
    b: &wire::AggregateBucket,
) -> Result<typed::AggregateBucket, ConversionError> {
    let at = |name| Nested("buckets", index, name);
    Ok(typed::AggregateBucket {
        sample_type: ctx.sample_type(at("sample_type"), &b.sample_type)?,
        period: ctx.parse(at("period"), &b.period, Failure::UnknownPeriod)?,
        period_start: ctx.time(at("period_start"), b.period_start)?,
        value: b.value,
        sample_count: b.sample_count,
        min_value: b.min_value,
        max_value: b.max_value,
    })
}

impl From<&typed::AggregateBucket> for wire::AggregateBucket {
    fn from(b: &typed::AggregateBucket) -> Self {
        wire::AggregateBucket {
            sample_type: b.sample_type.as_str().to_owned(),
            period: b.period.as_str().to_owned(),
            period_start: micros(b.period_start),
            value: b.value,
            sample_count: b.sample_count,
            min_value: b.min_value,
            max_value: b.max_value,
        }
    }
}

impl TryFrom<&wire::AggregatesUpdated> for typed::AggregatesUpdated {
    type Error = ConversionError;

    fn try_from(e: &wire::AggregatesUpdated) -> Result<Self, Self::Error> {
        let (ctx, event_id) = Ctx::start::<wire::AggregatesUpdated>(&e.event_id)?;
        Ok(typed::AggregatesUpdated {
            event_id,
            user_id: ctx.id(Top("user_id"), &e.user_id)?,
            buckets: e
                .buckets
                .iter()
                .enumerate()
                .map(|(i, b)| bucket(&ctx, i, b))
                .collect::<Result<_, _>>()?,
            timezone: e
                .timezone
                .as_deref()
                .map(|z| ctx.zone(Top("timezone"), z))
                .transpose()?,
            observed_at: ctx.optional_time(Top("observed_at"), e.observed_at)?,
        })
    }
}

impl From<&typed::AggregatesUpdated> for wire::AggregatesUpdated {
    fn from(e: &typed::AggregatesUpdated) -> Self {
        wire::AggregatesUpdated {
            event_id: e.event_id.to_string(),
            user_id: e.user_id.to_string(),
            buckets: e.buckets.iter().map(wire::AggregateBucket::from).collect(),
            timezone: e.timezone.map(|z| z.name().to_owned()),
            observed_at: e.observed_at.map(micros),
        }
    }
}

impl TryFrom<&wire::InsightRaised> for typed::InsightRaised {
    type Error = ConversionError;

    fn try_from(e: &wire::InsightRaised) -> Result<Self, Self::Error> {
        let (ctx, event_id) = Ctx::start::<wire::InsightRaised>(&e.event_id)?;
        Ok(typed::InsightRaised {
            event_id,
            user_id: ctx.id(Top("user_id"), &e.user_id)?,
            insight_id: ctx.uuid(Top("insight_id"), &e.insight_id)?,
            insight_type: e.insight_type.clone(),
            severity: ctx.parse(Top("severity"), &e.severity, Failure::UnknownSeverity)?,
            status: e.status.clone(),
            message: e.message.clone(),
            data_json: e.data_json.clone(),
            raised_at: ctx.time(Top("raised_at"), e.raised_at)?,
            direction: e
                .direction
                .as_deref()
                .map(|d| ctx.parse(Top("direction"), d, Failure::UnknownDirection))
                .transpose()?,
            recommendation: e.recommendation.clone(),
            rule_key: e.rule_key.clone(),
        })
    }
}

impl From<&typed::InsightRaised> for wire::InsightRaised {
    fn from(e: &typed::InsightRaised) -> Self {
        wire::InsightRaised {
            event_id: e.event_id.to_string(),
            user_id: e.user_id.to_string(),
            insight_id: e.insight_id.to_string(),
            insight_type: e.insight_type.clone(),
            severity: e.severity.as_str().to_owned(),
            status: e.status.clone(),
            message: e.message.clone(),
            data_json: e.data_json.clone(),
            raised_at: micros(e.raised_at),
            direction: e.direction.map(|d| d.as_str().to_owned()),
            recommendation: e.recommendation.clone(),
            rule_key: e.rule_key.clone(),
        }
    }
}

/// One arm per event type, in both directions.
macro_rules! user_event_conversions {
    ($($variant:ident),* $(,)?) => {
        impl TryFrom<&wire::UserEvent> for typed::UserEvent {
            type Error = ConversionError;

            fn try_from(e: &wire::UserEvent) -> Result<Self, Self::Error> {
                Ok(match e {
                    $(wire::UserEvent::$variant(e) => Self::$variant(e.try_into()?),)*
                })
            }
        }

        impl From<&typed::UserEvent> for wire::UserEvent {
            fn from(e: &typed::UserEvent) -> Self {
                match e {
                    $(typed::UserEvent::$variant(e) => Self::$variant(e.into()),)*
                }
            }
        }
    };
}

user_event_conversions!(
    SamplesRecorded,
    SamplesDeleted,
    UserRegistered,
    UserTimeZoneChanged,
    DeviceRegistered,
    DevicePriorityChanged,
    ShareGranted,
    ShareRevoked,
    InsightAcknowledged,
);

impl wire::UserEvent {
    /// The event as typed domain values, or why it is a poison message.
    pub fn to_typed(&self) -> Result<typed::UserEvent, ConversionError> {
        self.try_into()
    }
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
