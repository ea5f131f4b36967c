//! Poison messages (corrupt bytes, unknown schema ids, records that do not decode or convert,
//! values the database rejects) go to the dead-letter topic with the original key and bytes
//! and the reason in headers, so nothing vanishes silently and the processor keeps going;
//! [`redrive`] puts them back once the cause is fixed.

use std::collections::BTreeMap;
use std::time::Duration;

use healthpipe_eventlog::{durable_config, DurableProducer};
use healthpipe_schemas::Topics;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Header, Headers, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};

use crate::config::ProcessorConfig;
use crate::error::ProcessorError;
use crate::metrics;

pub struct DeadLetters {
    producer: DurableProducer,
    topic: String,
}

impl DeadLetters {
    pub fn new(config: &ProcessorConfig, topic: String) -> Result<Self, ProcessorError> {
        let producer = DurableProducer::new(
            "dead-letters",
            durable_config(&config.kafka_brokers, &config.kafka_security.properties()),
            config.kafka_stall_timeout,
        )?;
        Ok(Self { producer, topic })
    }

    /// Appends `message` to the dead-letter topic and waits for the acknowledgement.
    pub async fn send(&self, message: &OwnedMessage, reason: &str) -> Result<(), ProcessorError> {
        let partition = message.partition().to_string();
        let offset = message.offset().to_string();
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "healthpipe.error",
                value: Some(reason),
            })
            .insert(Header {
                key: "healthpipe.source.topic",
                value: Some(message.topic()),
            })
            .insert(Header {
                key: "healthpipe.source.partition",
                value: Some(&partition),
            })
            .insert(Header {
                key: "healthpipe.source.offset",
                value: Some(&offset),
            });
        let mut record = FutureRecord::to(&self.topic)
            .payload(message.payload().unwrap_or_default())
            .headers(headers);
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        self.producer.send(record, Duration::from_secs(30)).await?;
        metrics::MESSAGES
            .with_label_values(&["dead_lettered"])
            .inc();
        tracing::warn!(
            partition = message.partition(),
            offset = message.offset(),
            reason,
            "message sent to the dead-letter topic"
        );
        Ok(())
    }
}

/// What [`redrive`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Redriven {
    /// Messages put back, by the topic they went back to.
    pub by_topic: BTreeMap<String, usize>,
    /// Messages left where they are: no source topic header, or a topic that is not one of
    /// this deployment's.
    pub left: usize,
}

/// Puts the dead-lettered messages not redriven yet back on the topics they came from (key,
/// payload and headers unchanged, plus `healthpipe.redriven.from`), once the cause is
/// fixed. Progress is the consumer group `<prefix>.dead-letter-redrive`'s committed offset, so
/// a message is redriven once; a crash between the append and the commit appends it twice,
/// which the projections absorb (the same event id, sample ids first-occurrence-wins). A
/// message that fails again is dead-lettered again. With `dry_run`, lists what would go and
/// changes nothing.
pub async fn redrive(
    brokers: &str,
    topics: &Topics,
    dry_run: bool,
) -> Result<Redriven, ProcessorError> {
    let group = format!("{}-redrive", topics.dead_letter);
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", &group)
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .create()?;
    let ends = assign_from_committed(&consumer, &topics.dead_letter).await?;
    let producer: FutureProducer = durable_config(brokers, &[]).create()?;
    let known = [
        topics.user_events.as_str(),
        topics.aggregates_updated.as_str(),
    ];
    let mut redriven = Redriven::default();
    let mut remaining: BTreeMap<i32, i64> = ends.into_iter().filter(|(_, end)| *end > 0).collect();
    let mut done = TopicPartitionList::new();
    while !remaining.is_empty() {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .map_err(|_| {
                ProcessorError::Config("the dead-letter topic did not deliver in 30 s".into())
            })??;
        let (partition, offset) = (message.partition(), message.offset());
        if remaining.get(&partition).is_none_or(|end| offset >= *end) {
            continue;
        }
        let source = header(&message, "healthpipe.source.topic");
        match source.as_deref().filter(|t| known.contains(t)) {
            Some(target) if dry_run => {
                println!(
                    "partition {partition} offset {offset}: back to {target} ({})",
                    header(&message, "healthpipe.error").unwrap_or_default()
                );
                *redriven.by_topic.entry(target.to_string()).or_default() += 1;
            }
            Some(target) => {
                append(&producer, target, &message).await?;
                *redriven.by_topic.entry(target.to_string()).or_default() += 1;
            }
            None => {
                tracing::warn!(
                    partition,
                    offset,
                    "dead letter without a known source topic left in place"
                );
                redriven.left += 1;
            }
        }
        done.add_partition_offset(&topics.dead_letter, partition, Offset::Offset(offset + 1))?;
        if remaining
            .get(&partition)
            .is_some_and(|end| offset + 1 >= *end)
        {
            remaining.remove(&partition);
        }
    }
    if !dry_run && done.count() > 0 {
        consumer.commit(&done, CommitMode::Sync)?;
    }
    Ok(redriven)
}

/// Assigns every partition of `topic` at the group's committed offset (the beginning when
/// there is none) and returns each partition's end at this moment: messages dead-lettered
/// after the start are left for the next redrive.
async fn assign_from_committed(
    consumer: &StreamConsumer,
    topic: &str,
) -> Result<BTreeMap<i32, i64>, ProcessorError> {
    let timeout = Duration::from_secs(10);
    let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
    let mut tpl = TopicPartitionList::new();
    let mut ends = BTreeMap::new();
    for p in metadata.topics().iter().flat_map(|t| t.partitions()) {
        tpl.add_partition(topic, p.id());
        let (_, high) = consumer.fetch_watermarks(topic, p.id(), timeout)?;
        ends.insert(p.id(), high);
    }
    let committed = consumer.committed_offsets(tpl, timeout)?;
    let mut start = TopicPartitionList::new();
    for element in committed.elements() {
        let offset = match element.offset() {
            Offset::Offset(next) => {
                if ends
                    .get(&element.partition())
                    .is_some_and(|end| next >= *end)
                {
                    ends.insert(element.partition(), 0); // nothing new there
                }
                Offset::Offset(next)
            }
            _ => Offset::Beginning, // nothing committed yet
        };
        start.add_partition_offset(topic, element.partition(), offset)?;
    }
    consumer.assign(&start)?;
    Ok(ends)
}

fn header(message: &BorrowedMessage<'_>, name: &str) -> Option<String> {
    let headers = message.headers()?;
    headers
        .iter()
        .find(|h| h.key == name)
        .and_then(|h| h.value)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

async fn append(
    producer: &FutureProducer,
    topic: &str,
    message: &BorrowedMessage<'_>,
) -> Result<(), ProcessorError> {
    let from = format!("{}/{}", message.partition(), message.offset());
    let mut headers = OwnedHeaders::new();
    if let Some(existing) = message.headers() {
        for h in existing
            .iter()
            .filter(|h| !h.key.starts_with("healthpipe."))
        {
            headers = headers.insert(Header {
                key: h.key,
                value: h.value,
            });
        }
    }
    headers = headers.insert(Header {
        key: "healthpipe.redriven.from",
        value: Some(&from),
    });
    let mut record = FutureRecord::to(topic)
        .payload(message.payload().unwrap_or_default())
        .headers(headers);
    if let Some(key) = message.key() {
        record = record.key(key);
    }
    producer
        .send(record, Timeout::After(Duration::from_secs(30)))
        .await
        .map_err(|(e, _)| ProcessorError::Kafka(e))?;
    Ok(())
}
