//! What a failed conversion reports: the event, the field, the reason; never a value.

use std::fmt;

use healthpipe_domain::EventId;

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
    #[error("is not an ISO 8601 date (YYYY-MM-DD)")]
    NotADate,
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
            Self::NotADate => "not_a_date",
            Self::OffsetOutOfRange => "offset_out_of_range",
        }
    }
}

/// `event <id>`, or a note that the id itself did not parse.
pub(super) struct EventLabel(Option<EventId>);

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
pub(super) enum Field {
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
