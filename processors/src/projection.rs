//! What a projection is: how to decode a payload and how to write the effects of decoded
//! events. Everything else (batches, offsets in the same transaction, retries, dead letters,
//! rebalances) is the [`crate::runtime`]'s, shared by every processor.

use async_trait::async_trait;
use deadpool_postgres::Transaction;

use healthpipe_crypto::Keyring;
use healthpipe_schemas::{CodecError, ConversionError};

use crate::error::ProcessorError;

/// Why a message could not become an event.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The record decoded but does not convert to domain values (an id that does not parse,
    /// an unknown type); the error names the event and the field, never a value.
    #[error(transparent)]
    Conversion(#[from] ConversionError),
    /// The user's data key is gone (the user was erased): the message can never be read,
    /// and is skipped and counted, not dead-lettered.
    #[error("the user's data key is gone (erased)")]
    Erased,
}

impl DecodeError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Codec(e) if e.is_retryable())
    }
}

/// One decoded event and where it came from: its position names derived events (so a
/// replay derives the same ids) and its timestamp is the event time rules evaluate at.
pub struct Sourced<E> {
    pub partition: i32,
    pub offset: i64,
    /// The message's create time (UTC microseconds), when the producer set one.
    pub timestamp_micros: Option<i64>,
    pub event: E,
}

#[async_trait]
pub trait Projection: Send + Sync {
    type Event: Send + Sync;

    /// Decodes one payload of `topic`, opening it with its user's key from `keys` (loaded
    /// by the runtime for the users the batch's message keys name): `Ok(None)` for a record
    /// this projection does not read (another event type on a topic it shares). The runtime
    /// retries the batch when the error is retryable (the registry is down), skips and
    /// counts [`DecodeError::Erased`], and dead-letters the message otherwise.
    async fn decode(
        &self,
        topic: &str,
        payload: &[u8],
        keys: &Keyring,
    ) -> Result<Option<Self::Event>, DecodeError>;

    /// Writes the effects of `events` (log order within each partition) inside `tx`. Anything
    /// published to Kafka is published here, sealed with keys from `keys`, before the caller
    /// commits: a crash may repeat a derived event (same id), never lose one.
    async fn project(
        &self,
        tx: &Transaction<'_>,
        events: &[Sourced<Self::Event>],
        keys: &Keyring,
    ) -> Result<(), ProcessorError>;
}

/// What a batch did, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    pub applied: usize,
    /// Below the stored offset: applied before.
    pub skipped: usize,
    /// Records this projection does not read.
    pub ignored: usize,
    pub dead_lettered: usize,
    /// Records of users whose key is gone (erased): unreadable, skipped.
    pub erased: usize,
}
