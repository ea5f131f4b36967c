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
//!
//! One module per group of events: [`samples`], [`users`] (accounts, shares,
//! acknowledgements), [`devices`], and [`derived`] (what the processors publish).

mod derived;
mod devices;
mod error;
mod samples;
mod users;

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use healthpipe_domain::{parse_uuid, EventId, InvalidId, Priority, SampleType};
use uuid::Uuid;

pub use error::{ConversionError, ConversionFailure};
use error::{ConversionFailure as Failure, Field};

use crate::events::{self as wire, Event};
use crate::typed;

/// The event being converted, for the errors.
struct Ctx {
    event: &'static str,
    event_id: Option<EventId>,
}

impl Ctx {
    /// Starts with the event id, so every later error names the event it belongs to.
    fn start<E: Event>(event_id: &str) -> Result<(Ctx, EventId), ConversionError> {
        Self::start_named(E::FULL_NAME, event_id)
    }

    fn start_named(
        full_name: &'static str,
        event_id: &str,
    ) -> Result<(Ctx, EventId), ConversionError> {
        let event = full_name.rsplit('.').next().unwrap_or(full_name);
        let mut ctx = Ctx {
            event,
            event_id: None,
        };
        let id = ctx.id(Field::Top("event_id"), event_id)?;
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

    /// An ISO 8601 date (`2026-11-30`).
    fn date(&self, field: Field, text: &str) -> Result<NaiveDate, ConversionError> {
        self.parse(field, text, Failure::NotADate)
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
            .map(|(name, p)| {
                Ok((
                    self.sample_type(Field::Key(field), name)?,
                    Priority::new(*p),
                ))
            })
            .collect()
    }
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
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
    ShareRedeemed,
    ShareRevoked,
    InsightAcknowledged,
    UserErased,
);

impl wire::UserEvent {
    /// The event as typed domain values, or why it is a poison message.
    pub fn to_typed(&self) -> Result<typed::UserEvent, ConversionError> {
        self.try_into()
    }
}

#[cfg(test)]
mod tests;
