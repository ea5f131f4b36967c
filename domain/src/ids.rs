//! Typed identities: one newtype over a UUID per kind of thing that has an id.
//!
//! Every id on the wire is a UUID string, and a user id, a device id and a sample id look
//! exactly alike. Passing a device id where a user id belongs compiles and runs, and then
//! quietly finds nothing. With one type per kind the compiler refuses the swap, and the one
//! place that parses an id says which kind failed to parse.
//!
//! Ids parse from the hyphenated form only (36 characters, either case), the one form every
//! producer writes and the API documents, and display in lower case. `Ord` compares the UUID
//! bytes, which is the same order as comparing the lower-case strings, so a ranking that
//! breaks ties by device id string ([`crate::DeviceRanking`]) orders typed ids the same way.
//!
//! The rest of the domain still keys samples and devices by `String` (the golden dedup
//! cases use short readable ids). Every id converts into that string with `String::from`
//! or `to_string()`, so the string-keyed APIs take typed ids as they are.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::sample_type::SampleType;
use crate::validation::ValidSample;

/// Which kind of id failed to parse: the one thing a caller needs to say what was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    User,
    Device,
    Sample,
    Event,
}

impl IdKind {
    /// `"user id"`, `"device id"`, ...: the words an error message uses.
    pub fn as_str(self) -> &'static str {
        match self {
            IdKind::User => "user id",
            IdKind::Device => "device id",
            IdKind::Sample => "sample id",
            IdKind::Event => "event id",
        }
    }
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A text that is not a hyphenated UUID. The text itself is left out: a malformed id may be
/// anything a client sent, and errors end up in logs and on the dead-letter topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{kind} is not a hyphenated UUID")]
pub struct InvalidId {
    pub kind: IdKind,
}

/// A UUID in its hyphenated form (36 characters, either case), the rule every typed id
/// parses by; for the ids that have no type of their own yet (shares, insights).
///
/// `Uuid::try_parse` alone also takes the simple, braced and URN forms, which no producer
/// writes and which would give one id several spellings.
pub fn parse_uuid(text: &str) -> Option<Uuid> {
    (text.len() == 36)
        .then(|| Uuid::try_parse(text).ok())
        .flatten()
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        ///
        /// Serialized as its plain string, exactly as `#[serde(transparent)]` would, but
        /// deserialized through [`FromStr`] so that serde and parsing accept the same texts.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Uuid);

        impl $name {
            /// Which kind of id this is, as parse errors name it.
            pub const KIND: IdKind = $kind;

            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }

            /// Parses the hyphenated form; the error names the kind of id.
            pub fn parse(text: &str) -> Result<Self, InvalidId> {
                parse_uuid(text)
                    .map(Self)
                    .ok_or(InvalidId { kind: Self::KIND })
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::parse(text)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;

            fn try_from(text: String) -> Result<Self, Self::Error> {
                Self::parse(&text)
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        /// The wire form, for the string-keyed APIs that have not adopted typed ids yet.
        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.to_string()
            }
        }
    };
}

typed_id!(
    /// The owner of the data: a user account (a provider account too, when it is the one a
    /// share grants access to). The Kafka key of every user event.
    UserId,
    IdKind::User
);

typed_id!(
    /// A registered device of one user, the unit deduplication ranks.
    DeviceId,
    IdKind::Device
);

typed_id!(
    /// One sample: the client's id, or one derived by [`SampleId::derive`], so a re-sent
    /// sample keeps its id and counts once.
    SampleId,
    IdKind::Sample
);

typed_id!(
    /// One event on a topic, so a consumer can tell a repeated delivery from a new event.
    EventId,
    IdKind::Event
);

/// The UUIDv5 namespace of derived sample ids. Changing it changes the id of every sample
/// sent without one, so re-sent samples would count twice: never change it.
pub const SAMPLE_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6b1f_2c4e_8d0a_4f57_9a3e_54c1_d2b7_a901);

impl SampleId {
    /// The id of a sample the client sent without one: a UUIDv5 of the user, the device, the
    /// type, the times and the exact bits of the canonical value, so the same measurement sent
    /// again gets the same id. The same derivation as the gateway's ingest today.
    pub fn derive(
        user: UserId,
        device: DeviceId,
        sample_type: SampleType,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        value: f64,
    ) -> Self {
        let name = format!(
            "{user}|{device}|{}|{}|{}|{}",
            sample_type.as_str(),
            start.timestamp_micros(),
            end.timestamp_micros(),
            value.to_bits()
        );
        Self(Uuid::new_v5(&SAMPLE_ID_NAMESPACE, name.as_bytes()))
    }

    /// [`SampleId::derive`] for a validated sample, as the gateway's ingest has it.
    pub fn derive_for(user: UserId, device: DeviceId, sample: &ValidSample) -> Self {
        Self::derive(
            user,
            device,
            sample.sample_type(),
            sample.start(),
            sample.end(),
            sample.value(),
        )
    }
}

#[cfg(test)]
#[path = "ids_tests.rs"]
mod tests;
