//! How every healthpipe service reads its settings.
//!
//! A service declares its settings once, as a `clap::Args` struct: each field with its
//! environment variable, its type (through its value parser) and its default, documented by
//! its doc comment. [`from_env`] then reads them from the environment and, unlike clap's own
//! parsing, which stops at the first error, reports every missing or bad setting at once, so a
//! broken deployment is fixed in one round. [`Redacted`] keeps passwords out of `Debug`
//! output and error messages. [`EventLogSettings`] are the Kafka and registry settings the
//! services share; [`KeySettings`] where the key-encryption keys come from.
//!
//! This crate depends on no other healthpipe crate, so the gateway, the processors and the
//! schema registry can all share it.

mod error;
mod event_log;
mod kafka_security;
mod keys;
mod parse;
mod redact;

pub use error::{ConfigError, ConfigProblem};
pub use event_log::EventLogSettings;
pub use kafka_security::KafkaSecurity;
pub use keys::KeySettings;
pub use parse::{database_url, from_env, from_lookup, lookup_in};
pub use redact::{redact, Redacted};
