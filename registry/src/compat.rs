//! Compatibility levels and the check run before a new version is accepted.
//!
//! The rules are Avro's schema-resolution rules, as implemented by
//! `apache_avro::schema_compatibility`: BACKWARD means the new schema can read data written with
//! the previous one, FORWARD that the previous can read data written with the new one, FULL both.
//! The `_TRANSITIVE` levels check every earlier version instead of only the latest.

use std::fmt;

use apache_avro::schema_compatibility::{Compatibility, SchemaCompatibility};
use apache_avro::Schema;

/// The levels Confluent defines, and no others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompatibilityLevel {
    None,
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
}

impl CompatibilityLevel {
    /// Confluent's default when neither the subject nor the registry sets a level.
    pub const DEFAULT: Self = Self::Backward;

    const ALL: [Self; 7] = [
        Self::None,
        Self::Backward,
        Self::BackwardTransitive,
        Self::Forward,
        Self::ForwardTransitive,
        Self::Full,
        Self::FullTransitive,
    ];

    /// Parses a level name; case does not matter, as in Confluent.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|level| level.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// The upper-case name Confluent uses on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::Backward => "BACKWARD",
            Self::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Self::Forward => "FORWARD",
            Self::ForwardTransitive => "FORWARD_TRANSITIVE",
            Self::Full => "FULL",
            Self::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    /// Whether every earlier version is checked, not only the latest.
    pub fn is_transitive(self) -> bool {
        matches!(
            self,
            Self::BackwardTransitive | Self::ForwardTransitive | Self::FullTransitive
        )
    }

    fn new_must_read_old(self) -> bool {
        matches!(
            self,
            Self::Backward | Self::BackwardTransitive | Self::Full | Self::FullTransitive
        )
    }

    fn old_must_read_new(self) -> bool {
        matches!(
            self,
            Self::Forward | Self::ForwardTransitive | Self::Full | Self::FullTransitive
        )
    }
}

impl fmt::Display for CompatibilityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An earlier version of the subject.
#[derive(Debug, Clone)]
pub struct Previous {
    pub version: i32,
    pub schema: Schema,
}

/// Checks `new` against the earlier versions (oldest first) and returns one message per
/// violation; empty means compatible. Non-transitive levels look at the last entry only, so
/// callers may pass either every version or just the one to compare with.
pub fn check(level: CompatibilityLevel, new: &Schema, previous: &[Previous]) -> Vec<String> {
    let against = if level.is_transitive() {
        previous
    } else {
        previous
            .last()
            .map(std::slice::from_ref)
            .unwrap_or_default()
    };
    let mut messages = Vec::new();
    for old in against {
        if level.new_must_read_old() {
            if let Err(why) = can_read(&old.schema, new) {
                messages.push(format!(
                    "{level}: the new schema cannot read data written with version {}: {why}",
                    old.version
                ));
            }
        }
        if level.old_must_read_new() {
            if let Err(why) = can_read(new, &old.schema) {
                messages.push(format!(
                    "{level}: version {} cannot read data written with the new schema: {why}",
                    old.version
                ));
            }
        }
    }
    messages
}

/// Only full resolution counts: a partial match (writer enum symbols or union branches the
/// reader lacks) fails at run time on some records, which Confluent also rejects.
fn can_read(writer: &Schema, reader: &Schema) -> Result<(), String> {
    match SchemaCompatibility::can_read(writer, reader) {
        Ok(Compatibility::Full) => Ok(()),
        Ok(Compatibility::Partial) => Err("some enum symbols or union branches of the writer \
             are missing from the reader"
            .to_string()),
        Err(error) => {
            let mut text = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            Err(text)
        }
    }
}

#[cfg(test)]
#[path = "compat_tests.rs"]
mod tests;
