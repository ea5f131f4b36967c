//! The event contracts of healthpipe: one Avro schema per event type in `schemas/avro/`,
//! the Rust types that mirror them, and the codec that writes and reads them in the
//! Confluent wire format through a schema registry.
//!
//! Events are the product's most durable interface: analysts replay the topics with their
//! own tools long after this code has changed, so the `.avsc` files are the source of truth
//! and a test keeps the Rust types from drifting away from them.

mod codec;
mod events;
mod fast_decode;
mod topics;

pub use codec::{CodecError, EventCodec};
pub use events::*;
pub use fast_decode::decode_samples_recorded;
pub use topics::{Topics, MAX_SAMPLES_PER_EVENT};
