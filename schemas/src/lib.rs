//! The event contracts of healthpipe: one Avro schema per event type in `schemas/avro/`,
//! the Rust types that mirror them, and the codec that writes and reads them in the
//! Confluent wire format through a schema registry.
//!
//! Events are the product's most durable interface: analysts replay the topics with their
//! own tools long after this code has changed, so the `.avsc` files are the source of truth
//! and a test keeps the Rust types from drifting away from them.
//!
//! Processors work on [`typed`] events: the same facts as domain values (typed ids, closed
//! sets, `DateTime<Utc>`). The conversion between the two lives in one module; an event that
//! does not convert yields a [`ConversionError`] naming the event, the field and why.

mod codec;
mod convert;
mod events;
mod fast_decode;
mod topics;
pub mod typed;

pub use codec::{CodecError, EventCodec, Opened, Written};
pub use convert::{ConversionError, ConversionFailure};
pub use events::*;
pub use fast_decode::decode_samples_recorded;
pub use topics::{Topics, MAX_SAMPLES_PER_EVENT};
