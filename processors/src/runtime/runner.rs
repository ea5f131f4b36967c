//! Applying batches: exactly once, in one transaction with the offsets, and what to do when
//! that fails, by the class of the failure:
//!
//! - **transient** (database, registry or broker unavailable, a lost serialisation race):
//!   retry the same batch with backoff;
//! - **poison** (SQLSTATE class 22, a value the database rejects): split the batch until the
//!   one bad message is found, send it to the dead-letter topic with its reason, apply the
//!   rest, move on. Messages that do not decode never reach the database: they are
//!   dead-lettered while the batch is applied;
//! - **stop the partition** (SQLSTATE class 23, or a panic): split the same way, apply
//!   everything before the offending message and stop its partition there (see
//!   [`super::partitions`]); the message is neither lost nor dead-lettered;
//! - **fatal** (a missing table, bad configuration): return the error, so the process exits
//!   non-zero and the orchestrator restarts it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use deadpool_postgres::Pool;
use futures::FutureExt;
use healthpipe_crypto::{KeyProvider, Keyring};
use healthpipe_storage::accounts::keys;
use healthpipe_storage::projections::offsets;
use healthpipe_storage::ErrorClass;
use rdkafka::message::{Message, OwnedMessage};
use tokio_util::sync::CancellationToken;

use super::consumer::{self, ProcessorConsumer};
use super::dead_letter::DeadLetters;
use super::partitions::{Partitions, Stopped};
use crate::error::ProcessorError;
use crate::metrics;
use crate::projection::{BatchOutcome, DecodeError, Projection, Sourced};

/// What became of one message's payload.
enum Decoded<E> {
    Event(E),
    /// A record this projection does not read.
    Ignored,
    /// Its user's key is gone: unreadable for good.
    Erased,
    /// Cannot be applied, for this reason: to the dead-letter topic.
    Poison(String),
}

/// Why one attempt at a batch failed, and so what happens next.
#[derive(Debug)]
enum Failure {
    Transient(ProcessorError),
    Poison(String),
    StopPartition(String),
    Fatal(ProcessorError),
}

impl Failure {
    fn of(error: ProcessorError) -> Self {
        let reason = error.to_string();
        match error.class() {
            ErrorClass::Transient => Self::Transient(error),
            ErrorClass::Data => Self::Poison(reason),
            ErrorClass::Constraint => Self::StopPartition(reason),
            ErrorClass::Fatal => Self::Fatal(error),
        }
    }
}

/// A projection with its consumer position.
pub struct Runner<P> {
    pub pool: Pool,
    pub dead_letters: DeadLetters,
    pub group: String,
    pub projection: P,
    pub partitions: std::sync::Arc<Partitions>,
    /// Unwraps the data keys of the users a batch is about.
    pub keys: std::sync::Arc<dyn KeyProvider>,
    /// Where the wrapped data keys are (the projection's database unless replaying).
    pub key_store: Pool,
}

impl<P: Projection> Runner<P> {
    /// Applies `batch` whatever it takes (see the module's documentation). `Ok` once every
    /// message is applied, dead-lettered or behind a stopped partition, or once shutdown
    /// interrupted a retry (the rest stays unapplied and is read again later); `Err` only
    /// for a fatal error.
    pub async fn settle(
        &self,
        consumer: &ProcessorConsumer,
        batch: Vec<OwnedMessage>,
        shutdown: &CancellationToken,
    ) -> Result<(), ProcessorError> {
        self.settle_part(consumer, batch, shutdown).await
    }

    fn settle_part<'a>(
        &'a self,
        consumer: &'a ProcessorConsumer,
        mut batch: Vec<OwnedMessage>,
        shutdown: &'a CancellationToken,
    ) -> Pin<Box<dyn Future<Output = Result<(), ProcessorError>> + Send + 'a>> {
        Box::pin(async move {
            let mut backoff = Duration::from_millis(200);
            loop {
                batch.retain(|m| !self.partitions.is_stopped(m.topic(), m.partition()));
                if batch.is_empty() {
                    return Ok(());
                }
                let failure = match self.attempt(&batch).await {
                    Ok(outcome) => {
                        tracing::debug!(?outcome, "batch applied");
                        return Ok(());
                    }
                    Err(failure) => failure,
                };
                match failure {
                    Failure::Transient(e) => {
                        metrics::RETRIES.with_label_values(&[e.cause()]).inc();
                        tracing::warn!(error = %e, backoff_ms = backoff.as_millis() as u64,
                            "batch failed, retrying");
                        tokio::select! {
                            _ = shutdown.cancelled() => return Ok(()),
                            _ = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(10));
                    }
                    Failure::Fatal(e) => return Err(e),
                    Failure::Poison(reason) | Failure::StopPartition(reason) if batch.len() > 1 => {
                        tracing::warn!(%reason, messages = batch.len(),
                            "batch failed on its content; splitting it to find the message");
                        metrics::BATCHES_SPLIT.inc();
                        for part in split(batch) {
                            self.settle_part(consumer, part, shutdown).await?;
                        }
                        return Ok(());
                    }
                    Failure::Poison(reason) => {
                        return self.dead_letter(&batch[0], &reason, shutdown).await;
                    }
                    Failure::StopPartition(reason) => {
                        self.stop(consumer, &batch[0], reason);
                        return Ok(());
                    }
                }
            }
        })
    }

    /// One attempt; a panic inside is caught and stands for a bug in applying this batch.
    async fn attempt(&self, batch: &[OwnedMessage]) -> Result<BatchOutcome, Failure> {
        match std::panic::AssertUnwindSafe(self.apply(batch))
            .catch_unwind()
            .await
        {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(e)) => Err(Failure::of(e)),
            Err(_) => {
                metrics::PANICS.inc();
                // The panic message went to the log through the panic hook; it may quote
                // values, so the reason carried further names only what happened.
                Err(Failure::StopPartition(
                    "applying the message panicked (a bug; see the log)".into(),
                ))
            }
        }
    }

    /// Applies `messages` (any partitions of any of the processor's topics) exactly once.
    pub async fn apply(&self, messages: &[OwnedMessage]) -> Result<BatchOutcome, ProcessorError> {
        let started = Instant::now();
        let ring = {
            let store = self.key_store.get().await?;
            keys::keyring(&store, self.keys.as_ref(), &users_of(messages)).await?
        };
        let mut client = self.pool.get().await?;
        let decoded = self.decode(messages, &ring).await?;
        let tx = client.transaction().await?;
        let mut partitions: BTreeMap<&str, BTreeSet<i32>> = BTreeMap::new();
        for m in messages {
            partitions
                .entry(m.topic())
                .or_default()
                .insert(m.partition());
        }
        let mut next: HashMap<(&str, i32), i64> = HashMap::new();
        for (topic, set) in &partitions {
            let set: Vec<i32> = set.iter().copied().collect();
            for (partition, offset) in offsets::lock(&tx, &self.group, topic, &set).await? {
                next.insert((topic, partition), offset);
            }
        }
        let mut outcome = BatchOutcome::default();
        let mut events = Vec::new();
        let mut poison = Vec::new();
        let mut advanced: BTreeMap<&str, HashMap<i32, i64>> = BTreeMap::new();
        for (message, result) in messages.iter().zip(decoded) {
            let position = (message.topic(), message.partition());
            if message.offset() < next.get(&position).copied().unwrap_or(0) {
                outcome.skipped += 1;
                continue;
            }
            let slot = advanced
                .entry(message.topic())
                .or_default()
                .entry(message.partition())
                .or_insert(0);
            *slot = (*slot).max(message.offset() + 1);
            match result {
                Decoded::Event(event) => {
                    events.push(Sourced {
                        partition: message.partition(),
                        offset: message.offset(),
                        timestamp_micros: message.timestamp().to_millis().map(|ms| ms * 1000),
                        event,
                    });
                    outcome.applied += 1;
                }
                Decoded::Ignored => outcome.ignored += 1,
                Decoded::Erased => outcome.erased += 1,
                Decoded::Poison(reason) => poison.push((message, reason)),
            }
        }
        if !events.is_empty() {
            self.projection.project(&tx, &events, &ring).await?;
        }
        // Only once the rest is written: an attempt that fails is split and tried again,
        // and must not have dead-lettered anything yet.
        for (message, reason) in &poison {
            self.dead_letters.send(message, reason).await?;
            outcome.dead_lettered += 1;
        }
        for (topic, next) in &advanced {
            offsets::advance(&tx, &self.group, topic, next).await?;
        }
        tx.commit().await?;
        for (topic, next) in &advanced {
            self.partitions.applied(topic, next);
        }
        metrics::BATCH_MESSAGES.observe(messages.len() as f64);
        for (label, count) in [
            ("applied", outcome.applied),
            ("skipped", outcome.skipped),
            ("ignored", outcome.ignored),
            ("erased", outcome.erased),
        ] {
            metrics::MESSAGES
                .with_label_values(&[label])
                .inc_by(count as u64);
        }
        metrics::BATCH_SECONDS.observe(started.elapsed().as_secs_f64());
        Ok(outcome)
    }

    async fn decode(
        &self,
        messages: &[OwnedMessage],
        keys: &Keyring,
    ) -> Result<Vec<Decoded<P::Event>>, ProcessorError> {
        let mut out = Vec::with_capacity(messages.len());
        for message in messages {
            let Some(payload) = message.payload() else {
                out.push(Decoded::Poison("empty payload".to_string()));
                continue;
            };
            out.push(
                match self.projection.decode(message.topic(), payload, keys).await {
                    Ok(Some(event)) => Decoded::Event(event),
                    Ok(None) => Decoded::Ignored,
                    Err(DecodeError::Erased) => Decoded::Erased,
                    Err(e) if e.is_retryable() => {
                        return Err(ProcessorError::Registry(e.to_string()))
                    }
                    Err(e) => Decoded::Poison(e.to_string()),
                },
            );
        }
        Ok(out)
    }

    /// Sends one message the database rejects to the dead-letter topic and moves its
    /// partition past it, retrying while Kafka or the database is unavailable.
    async fn dead_letter(
        &self,
        message: &OwnedMessage,
        reason: &str,
        shutdown: &CancellationToken,
    ) -> Result<(), ProcessorError> {
        let mut backoff = Duration::from_millis(200);
        loop {
            let result = async {
                self.dead_letters.send(message, reason).await?;
                self.advance_past(message).await
            }
            .await;
            match result {
                Ok(()) => return Ok(()),
                Err(e) if e.class() == ErrorClass::Transient => {
                    tracing::warn!(error = %e, "dead-lettering failed, retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return Ok(()),
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn advance_past(&self, message: &OwnedMessage) -> Result<(), ProcessorError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let (topic, partition) = (message.topic(), message.partition());
        offsets::lock(&tx, &self.group, topic, &[partition]).await?;
        let next = HashMap::from([(partition, message.offset() + 1)]);
        offsets::advance(&tx, &self.group, topic, &next).await?;
        tx.commit().await?;
        self.partitions.applied(topic, &next);
        Ok(())
    }

    fn stop(&self, consumer: &ProcessorConsumer, message: &OwnedMessage, reason: String) {
        tracing::error!(
            topic = message.topic(),
            partition = message.partition(),
            offset = message.offset(),
            %reason,
            "partition stopped at this message: applying it would break the projection; \
             fix the cause and restart the processor"
        );
        consumer::pause(consumer, message.topic(), message.partition());
        self.partitions.stop(Stopped {
            topic: message.topic().to_string(),
            partition: message.partition(),
            offset: message.offset(),
            reason,
        });
    }
}

/// The users the messages' keys name (every topic is keyed by user id), for loading their
/// data keys in one query. A key that is not a user id loads nothing: its message then
/// fails to open and is dead-lettered.
fn users_of(messages: &[OwnedMessage]) -> Vec<uuid::Uuid> {
    let users: BTreeSet<uuid::Uuid> = messages
        .iter()
        .filter_map(|m| m.key())
        .filter_map(|k| std::str::from_utf8(k).ok())
        .filter_map(|k| uuid::Uuid::parse_str(k).ok())
        .collect();
    users.into_iter().collect()
}

/// Halves of a batch, or its partitions when it spans several (a partition's messages stay
/// in log order within each part, and parts are settled in order).
fn split(batch: Vec<OwnedMessage>) -> Vec<Vec<OwnedMessage>> {
    let mut by_partition: Vec<(i32, Vec<OwnedMessage>)> = Vec::new();
    for message in batch {
        match by_partition
            .iter_mut()
            .find(|(p, _)| *p == message.partition())
        {
            Some((_, part)) => part.push(message),
            None => by_partition.push((message.partition(), vec![message])),
        }
    }
    if by_partition.len() > 1 {
        return by_partition.into_iter().map(|(_, part)| part).collect();
    }
    let mut only = by_partition.pop().map(|(_, part)| part).unwrap_or_default();
    let second = only.split_off(only.len() / 2);
    vec![only, second]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::test_message as message;

    fn positions(parts: &[Vec<OwnedMessage>]) -> Vec<Vec<(i32, i64)>> {
        parts
            .iter()
            .map(|p| p.iter().map(|m| (m.partition(), m.offset())).collect())
            .collect()
    }

    #[test]
    fn a_batch_of_several_partitions_splits_by_partition_in_log_order() {
        let batch = vec![message(1, 5), message(0, 7), message(1, 6), message(0, 8)];
        assert_eq!(
            positions(&split(batch)),
            vec![vec![(1, 5), (1, 6)], vec![(0, 7), (0, 8)]]
        );
    }

    #[test]
    fn a_batch_of_one_partition_splits_in_halves() {
        let batch = (0..5).map(|o| message(2, o)).collect();
        assert_eq!(
            positions(&split(batch)),
            vec![vec![(2, 0), (2, 1)], vec![(2, 2), (2, 3), (2, 4)]]
        );
    }
}
