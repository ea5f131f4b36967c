//! The aggregation projection: raw samples, and deduplicated hour/day/week/month aggregates
//! in the user's time zone. One batch of messages is applied in one transaction together
//! with the consumer offsets (see `crate::offsets`).

mod plan;
mod recompute;
mod store;

use std::collections::{HashMap, HashSet};

use deadpool_postgres::Pool;
use healthpipe_domain::SampleType;
use healthpipe_schemas::{EventCodec, UserEvent};
use rdkafka::message::{Message, OwnedMessage};
use uuid::Uuid;

use crate::dead_letter::DeadLetters;
use crate::error::ProcessorError;
use crate::{metrics, offsets};
use plan::Plan;

pub struct Aggregation {
    pub pool: Pool,
    pub codec: EventCodec,
    pub dead_letters: DeadLetters,
    pub group: String,
    pub topic: String,
}

/// What a batch did, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    pub applied: usize,
    pub skipped: usize,
    pub dead_lettered: usize,
}

impl Aggregation {
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
                    events.push(event);
                    outcome.applied += 1;
                }
                Err(reason) => {
                    self.dead_letters.send(message, &reason).await?;
                    outcome.dead_lettered += 1;
                }
            }
        }
        if !events.is_empty() {
            self.project(&tx, &events).await?;
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

    /// Decodes every message; a poison message becomes `Err(reason)`, a registry outage an
    /// error for the whole batch (retried later).
    async fn decode(
        &self,
        messages: &[OwnedMessage],
    ) -> Result<Vec<Result<UserEvent, String>>, ProcessorError> {
        let mut out = Vec::with_capacity(messages.len());
        for message in messages {
            let Some(payload) = message.payload() else {
                out.push(Err("empty payload".to_string()));
                continue;
            };
            match self.codec.decode_user_event(payload).await {
                Ok(event) => out.push(Ok(event)),
                Err(e) if e.is_retryable() => return Err(ProcessorError::Registry(e.to_string())),
                Err(e) => out.push(Err(e.to_string())),
            }
        }
        Ok(out)
    }

    async fn project(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        events: &[UserEvent],
    ) -> Result<(), ProcessorError> {
        let known = store::load_known(tx, &plan::mentioned(events)).await?;
        let plan = Plan::build(events, known);
        store::write_plan(tx, &plan).await?;

        let mut windows = plan.windows.clone();
        let targets: Vec<(Uuid, Option<Uuid>)> = plan
            .rebucket_users
            .iter()
            .map(|u| (*u, None))
            .chain(plan.reranked_devices.iter().map(|(u, d)| (*u, Some(*d))))
            .collect();
        if !targets.is_empty() {
            for (user, type_name, span) in store::sample_spans(tx, &targets).await? {
                if let Ok(sample_type) = type_name.parse::<SampleType>() {
                    span.merge_into(&mut windows, (user, sample_type));
                }
            }
        }
        if windows.is_empty() {
            return Ok(());
        }
        let users: Vec<Uuid> = windows
            .keys()
            .map(|(u, _)| *u)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let (zones, rankings) = store::load_context(tx, &users).await?;
        let jobs = recompute::jobs(&windows, &plan.rebucket_users, &zones);
        let samples = store::load_samples(tx, &jobs).await?;
        metrics::RECOMPUTE_ROWS_LOADED.inc_by(samples.values().map(Vec::len).sum::<usize>() as u64);
        let (jobs, rows) = tokio::task::spawn_blocking(move || {
            let rows = recompute::compute(&jobs, &samples, &rankings, &zones);
            (jobs, rows)
        })
        .await
        .expect("aggregation does not panic");
        let replace: Vec<_> = jobs.into_iter().flat_map(|j| j.replace).collect();
        store::replace_aggregates(tx, &replace, &rows).await?;
        metrics::RECOMPUTE_ROWS_WRITTEN.inc_by(rows.len() as u64);
        Ok(())
    }
}
