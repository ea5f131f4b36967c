//! What every processor shares: a batch of messages is applied exactly once, in one
//! PostgreSQL transaction that also moves the group's offsets (see `crate::offsets`).
//! A processor only says how to decode a payload and how to project the decoded events.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use deadpool_postgres::{Pool, Transaction};
use rdkafka::message::{Message, OwnedMessage};

use crate::dead_letter::DeadLetters;
use crate::error::ProcessorError;
use crate::{metrics, offsets};

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

/// A projection with its consumer position.
pub struct Runner<P> {
    pub pool: Pool,
    pub dead_letters: DeadLetters,
    pub group: String,
    pub topic: String,
    pub projection: P,
}

impl<P: Projection> Runner<P> {
    /// Applies `messages` (one poll's worth, any partitions of `self.topic`) exactly once.
    pub async fn apply(&self, messages: &[OwnedMessage]) -> Result<BatchOutcome, ProcessorError> {
        let started = std::time::Instant::now();
        let decoded = self.decode(messages).await?;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let partitions: Vec<i32> = {
            let set: HashSet<i32> = messages.iter().map(|m| m.partition()).collect();
            set.into_iter().collect()
        };
        let next = offsets::lock(&tx, &self.group, &self.topic, &partitions).await?;
        let mut outcome = BatchOutcome::default();
        let mut events = Vec::new();
        let mut advanced: HashMap<i32, i64> = HashMap::new();
        for (message, result) in messages.iter().zip(decoded) {
            if message.offset() < next.get(&message.partition()).copied().unwrap_or(0) {
                outcome.skipped += 1;
                continue;
            }
            let slot = advanced.entry(message.partition()).or_insert(0);
            *slot = (*slot).max(message.offset() + 1);
            match result {
                Ok(event) => {
                    events.push(Sourced {
                        partition: message.partition(),
                        offset: message.offset(),
                        timestamp_micros: message.timestamp().to_millis().map(|ms| ms * 1000),
                        event,
                    });
                    outcome.applied += 1;
                }
                Err(reason) => {
                    self.dead_letters.send(message, &reason).await?;
                    outcome.dead_lettered += 1;
                }
            }
        }
        if !events.is_empty() {
            self.projection.project(&tx, &events).await?;
        }
        offsets::advance(&tx, &self.group, &self.topic, &advanced).await?;
        tx.commit().await?;
        metrics::MESSAGES
            .with_label_values(&["applied"])
            .inc_by(outcome.applied as u64);
        metrics::MESSAGES
            .with_label_values(&["skipped"])
            .inc_by(outcome.skipped as u64);
        metrics::BATCH_SECONDS.observe(started.elapsed().as_secs_f64());
        Ok(outcome)
    }

    async fn decode(
        &self,
        messages: &[OwnedMessage],
    ) -> Result<Vec<Result<P::Event, String>>, ProcessorError> {
        let mut out = Vec::with_capacity(messages.len());
        for message in messages {
            match message.payload() {
                None => out.push(Err("empty payload".to_string())),
                Some(payload) => out.push(self.projection.decode(payload).await?),
            }
        }
        Ok(out)
    }
}
