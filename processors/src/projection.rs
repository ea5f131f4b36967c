//! What a projection is: how to decode a payload and how to write the effects of decoded
//! events. Everything else (batches, offsets in the same transaction, retries, dead letters,
//! rebalances) is the [`crate::runtime`]'s, shared by every processor.

use async_trait::async_trait;
use deadpool_postgres::Transaction;

use crate::error::ProcessorError;

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

    /// Decodes one payload: `Ok(Err(reason))` for a poison message (dead-lettered),
    /// `Err(_)` for a retryable failure of the whole batch (the registry is down).
    async fn decode(&self, payload: &[u8]) -> Result<Result<Self::Event, String>, ProcessorError>;

    /// Writes the effects of `events` (log order within each partition) inside `tx`. Anything
    /// published to Kafka is published here, before the caller commits: a crash may repeat a
    /// derived event (same id), never lose one.
    async fn project(
        &self,
        tx: &Transaction<'_>,
        events: &[Sourced<Self::Event>],
    ) -> Result<(), ProcessorError>;
}

/// What a batch did, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    pub applied: usize,
    pub skipped: usize,
    pub dead_lettered: usize,
}
