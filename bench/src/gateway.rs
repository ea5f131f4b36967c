//! Figure 1: samples per second the gateway acknowledges (HTTP keep-alive, concurrent
//! clients, 500 samples a request), against a raw rdkafka producer sending the same encoded
//! events with the gateway's producer settings.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures::StreamExt;
use healthpipe_crypto::Keyring;
use healthpipe_schemas::{EventCodec, Opened, UserEvent};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};

use super::env::{watermarks, Stack};
use super::load::{self, Request, Sent};

/// Sends `requests` in `runs` consecutive slices, one timed run each.
pub async fn ingest(
    http: &reqwest::Client,
    base: &str,
    requests: &[Request],
    runs: usize,
    clients: usize,
) -> Result<Vec<Sent>> {
    let per_run = requests.len().div_ceil(runs.max(1));
    let mut out = Vec::new();
    for slice in requests.chunks(per_run.max(1)) {
        let sent = load::closed_loop(http, base, Arc::new(slice.to_vec()), clients).await?;
        println!(
            "    gateway run: {} samples in {:.1} s ({:.0} samples/s, {} answered 'retry later' (409/503) first)",
            sent.samples,
            sent.seconds,
            sent.samples_per_second(),
            sent.retried
        );
        out.push(sent);
    }
    Ok(out)
}

/// A `SamplesRecorded` message as the gateway wrote it.
pub struct Captured {
    pub key: Vec<u8>,
    pub payload: Vec<u8>,
    pub samples: usize,
}

/// Reads `SamplesRecorded` messages of `topic` from the start until `max_samples` samples.
pub async fn capture(
    stack: &Stack,
    topic: &str,
    max_samples: usize,
    ring: &Keyring,
) -> Result<Vec<Captured>> {
    let codec = EventCodec::new(&stack.registry_url);
    let ends = watermarks(&stack.brokers, topic).await?;
    let total: i64 = ends.iter().map(|(_, h)| h).sum();
    let consumer = assigned_consumer(stack, topic, &ends)?;
    let mut out = Vec::new();
    let mut samples = 0;
    let mut seen = 0;
    while samples < max_samples && seen < total {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .context("no message within 30 s while capturing")??;
        seen += 1;
        let payload = message.payload().unwrap_or_default();
        if let Ok(Opened::Event(UserEvent::SamplesRecorded(e))) =
            codec.decode_user_event(payload, ring).await
        {
            samples += e.samples.len();
            out.push(Captured {
                key: message.key().unwrap_or_default().to_vec(),
                payload: payload.to_vec(),
                samples: e.samples.len(),
            });
        }
    }
    Ok(out)
}

/// A consumer (no group offsets) assigned to every partition of `topic` from the start.
pub fn assigned_consumer(
    stack: &Stack,
    topic: &str,
    partitions: &[(i32, i64)],
) -> Result<StreamConsumer> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &stack.brokers)
        .set(
            "group.id",
            format!("hp-bench-{}", uuid::Uuid::new_v4().simple()),
        )
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("queued.max.messages.kbytes", "65536")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    for (p, _) in partitions {
        tpl.add_partition_offset(topic, *p, Offset::Beginning)?;
    }
    consumer.assign(&tpl)?;
    Ok(consumer)
}

/// Produces `messages` to `topic` with the gateway's producer settings, as fast as the
/// broker acknowledges them; returns samples per second.
pub async fn raw_produce(stack: &Stack, topic: &str, messages: &[Captured]) -> Result<f64> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &stack.brokers)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("compression.type", "lz4")
        .set("linger.ms", "5")
        .set("queue.buffering.max.kbytes", "262144")
        .set("message.timeout.ms", "30000")
        .create()?;
    // Connect and get the idempotent producer's id outside the clock, as a running
    // gateway has done long before.
    if let Some(first) = messages.first() {
        producer
            .send(
                FutureRecord::to(topic)
                    .key(&first.key)
                    .payload(&first.payload),
                Timeout::After(Duration::from_secs(30)),
            )
            .await
            .map_err(|(e, _)| anyhow::anyhow!("raw producer: {e}"))?;
    }
    let started = Instant::now();
    let mut deliveries = futures::stream::iter(messages.iter().map(|m| {
        producer.send(
            FutureRecord::to(topic).key(&m.key).payload(&m.payload),
            Timeout::After(Duration::from_secs(30)),
        )
    }))
    .buffer_unordered(1024);
    while let Some(result) = deliveries.next().await {
        result.map_err(|(e, _)| anyhow::anyhow!("raw producer: {e}"))?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let samples: usize = messages.iter().map(|m| m.samples).sum();
    Ok(samples as f64 / seconds)
}
