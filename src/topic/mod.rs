//! `healthpipe topic`: the operators' side of the topics.
//!
//! - [`read`]: a time range of a topic as JSON Lines, as any Kafka client sees it, or opened
//!   with the users' keys on record;
//! - [`reencrypt`]: the per-user stream copied to a new topic with every event written in
//!   clear before encryption sealed, and the processors moved to it.

pub mod read;
pub mod reencrypt;

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use healthpipe_config::EventLogSettings;
use healthpipe_schemas::Topics;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};
use uuid::Uuid;

pub use read::{read, TopicReadArgs};
pub use reencrypt::{reencrypt, ReencryptArgs};

/// How long a metadata or offset request to Kafka may take.
const KAFKA_TIMEOUT: Duration = Duration::from_secs(10);

/// The full name of `topic`: one of the settings' [`Topics`] by its name after the prefix
/// (`user-events`, ...), else as given.
fn full_name(event_log: &EventLogSettings, topic: &str) -> String {
    let topics = Topics::with_prefix(&event_log.topic_prefix);
    let configured = Topics::named(
        &event_log.topic_prefix,
        event_log.user_events_topic.as_deref(),
    );
    let known = topics
        .all()
        .into_iter()
        .zip(configured.all())
        .find(|(by_prefix, _)| {
            by_prefix
                .strip_prefix(event_log.topic_prefix.as_str())
                .and_then(|rest| rest.strip_prefix('.'))
                == Some(topic)
        });
    known
        .map_or(topic, |(_, configured)| configured)
        .to_string()
}

/// A consumer of the event log outside any group's work: no commits, ends reported.
fn consumer(event_log: &EventLogSettings, purpose: &str) -> Result<BaseConsumer> {
    consumer_with(event_log, purpose, true)
}

/// [`consumer`], telling partition ends (for [`Messages`]) or not (for reads by offset).
fn consumer_with(event_log: &EventLogSettings, purpose: &str, ends: bool) -> Result<BaseConsumer> {
    healthpipe_eventlog::client_config(
        &event_log.kafka_brokers,
        &event_log.kafka_security.properties(),
    )
    .set(
        "group.id",
        format!("healthpipe-{purpose}-{}", Uuid::new_v4()),
    )
    .set("enable.auto.commit", "false")
    .set("enable.partition.eof", ends.to_string())
    .create()
    .context("kafka client")
}

/// The partitions of `topic`, in order; an error if it has none (it does not exist).
fn partitions(consumer: &BaseConsumer, topic: &str) -> Result<Vec<i32>> {
    let metadata = consumer.fetch_metadata(Some(topic), KAFKA_TIMEOUT)?;
    let mut partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    partitions.sort_unstable();
    if partitions.is_empty() {
        bail!("topic {topic} has no partitions (does it exist?)");
    }
    Ok(partitions)
}

/// The messages of some partitions of a topic, each from a start up to an end offset.
struct Messages {
    consumer: BaseConsumer,
    /// Partitions not finished yet, with the offset they end before (`None`: their end when
    /// read, reported by the consumer).
    open: HashMap<i32, Option<i64>>,
}

impl Messages {
    /// Reads `starts` (partition → first offset) of `topic`; a partition ends before its
    /// offset in `ends`, or at the end the consumer finds when `ends` has none for it.
    fn new(
        consumer: BaseConsumer,
        topic: &str,
        starts: &[(i32, Offset)],
        ends: &HashMap<i32, i64>,
    ) -> Result<Self> {
        let mut list = TopicPartitionList::new();
        let mut open = HashMap::new();
        for (partition, start) in starts {
            let end = ends.get(partition).copied();
            let empty = matches!((start, end), (Offset::Offset(s), Some(e)) if *s >= e);
            if !empty {
                list.add_partition_offset(topic, *partition, *start)?;
                open.insert(*partition, end);
            }
        }
        consumer.assign(&list)?;
        Ok(Self { consumer, open })
    }

    /// The next message, `None` once every partition reached its end.
    async fn next(&mut self) -> Result<Option<OwnedMessage>> {
        while !self.open.is_empty() {
            match self.consumer.poll(Duration::ZERO) {
                Some(Ok(message)) => {
                    let partition = message.partition();
                    let Some(end) = self.open.get(&partition).copied() else {
                        continue;
                    };
                    if end.is_some_and(|end| message.offset() >= end) {
                        self.open.remove(&partition);
                        continue;
                    }
                    if end.is_some_and(|end| message.offset() + 1 >= end) {
                        self.open.remove(&partition);
                    }
                    return Ok(Some(message.detach()));
                }
                Some(Err(rdkafka::error::KafkaError::PartitionEOF(p))) => {
                    self.open.remove(&p);
                }
                Some(Err(e)) => return Err(e.into()),
                None => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(user_events_topic: Option<&str>) -> EventLogSettings {
        use clap::Parser;
        #[derive(Parser)]
        struct Args {
            #[command(flatten)]
            event_log: EventLogSettings,
        }
        let mut args = Args::parse_from(["test", "--topic-prefix", "hp"]).event_log;
        args.user_events_topic = user_events_topic.map(str::to_string);
        args
    }

    #[test]
    fn a_topic_is_named_after_the_prefix_or_given_in_full() {
        let hp = settings(None);
        assert_eq!(full_name(&hp, "user-events"), "hp.user-events");
        assert_eq!(full_name(&hp, "dead-letter"), "hp.dead-letter");
        assert_eq!(full_name(&hp, "hp.insights"), "hp.insights");
        assert_eq!(full_name(&hp, "someone.elses"), "someone.elses");
    }

    #[test]
    fn the_user_stream_is_the_configured_topic_once_it_was_moved() {
        let moved = settings(Some("hp.user-events.sealed"));
        assert_eq!(full_name(&moved, "user-events"), "hp.user-events.sealed");
        assert_eq!(full_name(&moved, "insights"), "hp.insights");
        assert_eq!(full_name(&moved, "hp.user-events"), "hp.user-events");
    }
}
