//! The Kafka side of the runtime: a consumer whose every assignment starts each partition
//! at the offset stored in the database, and the collection of batches.

use std::sync::Arc;

use healthpipe_eventlog::GroupHealth;
use rdkafka::consumer::{
    BaseConsumer, Consumer, ConsumerContext, RebalanceProtocol, StreamConsumer,
};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use super::offsets;
use super::partitions::Partitions;
use crate::config::ProcessorConfig;
use crate::error::ProcessorError;
use crate::metrics;

pub type ProcessorConsumer = StreamConsumer<Positions>;

/// How often a consumer waiting for messages looks at its group health.
const STALL_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// The consumer context: seeks assigned partitions to the database's positions, tells the
/// loop about revocations, and reports the group membership to `health`.
pub struct Positions {
    database_url: String,
    group: String,
    partitions: Arc<Partitions>,
    health: Arc<GroupHealth>,
}

impl ClientContext for Positions {
    fn stats(&self, statistics: rdkafka::statistics::Statistics) {
        self.health.observe(&statistics);
        self.partitions.observe(&statistics);
    }
}

impl ConsumerContext for Positions {
    /// Replaces librdkafka's default (assign at the committed offsets) with an assignment at
    /// the offsets the database holds: Kafka's committed offsets trail the database and can
    /// be ahead of it after a database restore, which would skip messages.
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        let result = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                self.start_at_stored_offsets(tpl);
                if cooperative {
                    consumer.incremental_assign(tpl)
                } else {
                    consumer.assign(tpl)
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                let revoked = topic_partitions(tpl);
                tracing::info!(partitions = ?revoked, "partitions revoked");
                self.partitions.revoked(&revoked);
                if cooperative {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                }
            }
            other => {
                tracing::warn!(error = ?other, "rebalance failed; dropping the assignment");
                self.partitions.revoked(&topic_partitions(tpl));
                consumer.unassign()
            }
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "applying the rebalance failed");
        }
    }
}

impl Positions {
    fn start_at_stored_offsets(&self, tpl: &mut TopicPartitionList) {
        let assigned = topic_partitions(tpl);
        let mut topics: Vec<String> = assigned.iter().map(|(t, _)| t.clone()).collect();
        topics.dedup();
        match offsets::load_blocking(&self.database_url, &self.group, &topics) {
            Ok(stored) => {
                let mut positions = Vec::with_capacity(assigned.len());
                for (topic, partition) in &assigned {
                    let next = stored.get(&(topic.clone(), *partition)).copied();
                    // Never applied by this group: from the beginning of the log.
                    let offset = next.map_or(Offset::Beginning, Offset::Offset);
                    if let Err(e) = tpl.set_partition_offset(topic, *partition, offset) {
                        tracing::warn!(%topic, partition, error = %e, "cannot set the start offset");
                    }
                    positions.push(((topic.clone(), *partition), Some(next.unwrap_or(0))));
                }
                self.partitions.assigned(&positions);
                tracing::info!(partitions = ?assigned, "partitions assigned at the stored offsets");
            }
            Err(e) => {
                // Still exact: each batch re-reads the stored offset under lock and skips what
                // was applied. Only a database restored behind Kafka's offsets could lose
                // messages here, and only while the database is also unreachable.
                metrics::RETRIES.with_label_values(&["assignment"]).inc();
                let unknown: Vec<_> = assigned.iter().map(|k| (k.clone(), None)).collect();
                self.partitions.assigned(&unknown);
                tracing::warn!(error = %e, partitions = ?assigned,
                    "stored offsets unavailable at assignment; starting at Kafka's committed offsets");
            }
        }
    }
}

fn topic_partitions(tpl: &TopicPartitionList) -> Vec<(String, i32)> {
    tpl.elements()
        .iter()
        .map(|e| (e.topic().to_string(), e.partition()))
        .collect()
}

/// A consumer of `config.group_id` reporting its membership to `health`; subscribe it to
/// start.
pub fn create(
    config: &ProcessorConfig,
    partitions: Arc<Partitions>,
    health: Arc<GroupHealth>,
) -> Result<ProcessorConsumer, ProcessorError> {
    let context = Positions {
        database_url: config.database_url.clone(),
        group: config.group_id.clone(),
        partitions,
        health,
    };
    let consumer = healthpipe_eventlog::client_config(
        &config.kafka_brokers,
        &config.kafka_security.properties(),
    )
    .set("group.id", &config.group_id)
    .set("enable.auto.commit", "false")
    .set("auto.offset.reset", "earliest")
    .set("isolation.level", "read_committed")
    // A crashed (SIGKILL, OOM) instance keeps its partitions until its session times out,
    // and a restarted instance cannot join before that: with librdkafka's default of 45 s
    // every crash stalled the group for 45 s. Heartbeats come from librdkafka's own
    // thread, so long batches do not expire the session; a stuck loop is still caught by
    // `max.poll.interval.ms`. A spurious rebalance is harmless (offsets are in the database).
    .set("session.timeout.ms", "10000")
    // Bounded prefetch: memory stays flat whatever the backlog.
    .set("queued.max.messages.kbytes", "65536")
    .set(
        "statistics.interval.ms",
        healthpipe_eventlog::STATISTICS_INTERVAL_MS,
    )
    .create_with_context(context)?;
    Ok(consumer)
}

/// Waits for the first message (or shutdown, or the consumer stalling out of its group),
/// then takes what arrives within the batch wait. Consumer errors (a broker restarting, a
/// lost connection) are logged and waited out: librdkafka reconnects by itself, and nothing
/// was applied for them; a consumer that never comes back is the stall check's to catch.
/// Messages of partitions revoked meanwhile, or stopped, are dropped: they are no longer
/// this batch's to apply.
pub async fn collect(
    consumer: &ProcessorConsumer,
    config: &ProcessorConfig,
    partitions: &Partitions,
    health: &GroupHealth,
    shutdown: &CancellationToken,
) -> Vec<OwnedMessage> {
    let revocations = partitions.revocations();
    let mut batch = Vec::new();
    let first = loop {
        if health.should_replace(config.kafka_stall_timeout) {
            return batch;
        }
        let received = tokio::select! {
            _ = shutdown.cancelled() => return batch,
            _ = tokio::time::sleep(STALL_CHECK) => continue,
            m = consumer.recv() => m,
        };
        match received {
            Ok(message) => break message,
            Err(e) => consumer_error(&e).await,
        }
    };
    let age = first
        .timestamp()
        .to_millis()
        .map(|created| chrono::Utc::now().timestamp_millis() - created);
    batch.push(first.detach());
    let deadline = tokio::time::Instant::now() + wait_left(config.batch_max_wait, age);
    while batch.len() < config.batch_max_messages {
        match tokio::time::timeout_at(deadline, consumer.recv()).await {
            Ok(Ok(message)) => batch.push(message.detach()),
            Ok(Err(e)) => {
                consumer_error(&e).await;
                break;
            }
            Err(_) => break,
        }
    }
    if partitions.revocations() != revocations {
        if let Ok(owned) = consumer.assignment() {
            let abandoned = after_rebalance(&mut batch, &topic_partitions(&owned));
            if abandoned > 0 {
                metrics::MESSAGES
                    .with_label_values(&["abandoned"])
                    .inc_by(abandoned as u64);
                tracing::info!(
                    abandoned,
                    "messages of revoked partitions left for their new owner"
                );
            }
        }
    }
    batch.retain(|m| !partitions.is_stopped(m.topic(), m.partition()));
    batch
}

/// How much longer a batch may wait for more messages, given the age of its first message in
/// milliseconds (from its Kafka timestamp): the wait counts from when the message was
/// written, so a message that already queued behind a busy batch waits no more, and the
/// batch takes only what is already there. Without a timestamp, the whole wait.
fn wait_left(wait: std::time::Duration, first_age_ms: Option<i64>) -> std::time::Duration {
    let age = std::time::Duration::from_millis(first_age_ms.unwrap_or(0).max(0) as u64);
    wait.saturating_sub(age)
}

/// A batch collected across a rebalance: drops the messages of partitions that are no longer
/// `owned` (returning how many), and keeps one copy of each message, in log order, of a
/// partition revoked and assigned back (read again from its stored offset).
fn after_rebalance(batch: &mut Vec<OwnedMessage>, owned: &[(String, i32)]) -> usize {
    let before = batch.len();
    batch.retain(|m| {
        owned
            .iter()
            .any(|(t, p)| t == m.topic() && *p == m.partition())
    });
    let abandoned = before - batch.len();
    batch.sort_by(|a, b| position(a).cmp(&position(b)));
    batch.dedup_by(|a, b| position(a) == position(b));
    abandoned
}

/// Where a message stands in the log.
fn position(m: &OwnedMessage) -> (&str, i32, i64) {
    (m.topic(), m.partition(), m.offset())
}

async fn consumer_error(e: &rdkafka::error::KafkaError) {
    metrics::RETRIES.with_label_values(&["kafka"]).inc();
    tracing::warn!(error = %e, "kafka consumer error; waiting for the client to recover");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
}

/// Stops fetching `partition` of `topic` (see [`Partitions`]).
pub fn pause(consumer: &ProcessorConsumer, topic: &str, partition: i32) {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(topic, partition);
    if let Err(e) = consumer.pause(&tpl) {
        tracing::warn!(%topic, partition, error = %e, "cannot pause the partition");
    }
}

#[cfg(test)]
mod tests {
    use rdkafka::message::Message;

    use std::time::Duration;

    use super::{after_rebalance, wait_left};
    use crate::runtime::test_message as message;

    #[test]
    fn a_rebalance_drops_moved_partitions_and_messages_read_twice() {
        // Partition 1 moved away; partition 0 was revoked, assigned back and read again
        // from its stored offset 5.
        let mut batch = vec![
            message(0, 5),
            message(1, 9),
            message(0, 6),
            message(0, 5),
            message(0, 6),
            message(0, 7),
        ];
        let abandoned = after_rebalance(&mut batch, &[("t".to_string(), 0)]);
        assert_eq!(abandoned, 1);
        let left: Vec<(i32, i64)> = batch.iter().map(|m| (m.partition(), m.offset())).collect();
        assert_eq!(left, vec![(0, 5), (0, 6), (0, 7)]);
    }

    #[test]
    fn a_batch_waits_only_what_its_first_message_has_not_waited_yet() {
        let wait = Duration::from_millis(25);
        assert_eq!(wait_left(wait, Some(0)), wait);
        assert_eq!(wait_left(wait, Some(10)), Duration::from_millis(15));
        assert_eq!(wait_left(wait, Some(400)), Duration::ZERO);
        // A clock behind the producer's, or no timestamp: the whole wait, never more.
        assert_eq!(wait_left(wait, Some(-50)), wait);
        assert_eq!(wait_left(wait, None), wait);
    }
}
