//! Figure 3: consuming and Avro-decoding the user stream as the processor does (a stream
//! consumer, each message detached, then decoded through the registry-backed codec), against
//! a raw rdkafka consumer that only detaches the same messages.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use healthpipe_crypto::Keyring;
use healthpipe_schemas::{EventCodec, Opened, UserEvent};
use rdkafka::message::Message;

use super::env::Stack;
use super::gateway::assigned_consumer;

/// One pass over the first messages of each partition (up to `stops`, exclusive).
#[derive(Debug, Clone, Copy)]
pub struct Consumed {
    pub seconds: f64,
    pub messages: u64,
    /// Samples in the messages (counted only when decoding).
    pub samples: u64,
}

/// Reads every partition of `topic` from its start to its stop offset, decoding each message
/// when `decode` is set.
pub async fn consume(
    stack: &Stack,
    topic: &str,
    stops: &[(i32, i64)],
    decode: bool,
    ring: &Keyring,
) -> Result<Consumed> {
    let codec = EventCodec::new(&stack.registry_url);
    if decode {
        // Warm the codec's schema cache outside the clock, as a running processor has it.
        let consumer = assigned_consumer(stack, topic, stops)?;
        let first = consumer.recv().await?.detach();
        codec
            .decode_user_event(first.payload().unwrap_or_default(), ring)
            .await
            .ok();
    }
    let wanted: Vec<(i32, i64)> = stops.iter().copied().filter(|(_, s)| *s > 0).collect();
    let consumer = assigned_consumer(stack, topic, &wanted)?;
    let mut remaining: HashMap<i32, i64> = wanted.iter().copied().collect();
    let started = Instant::now();
    let (mut messages, mut samples) = (0u64, 0u64);
    while !remaining.is_empty() {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .context("no message within 30 s")??
            .detach();
        let partition = message.partition();
        let Some(&stop) = remaining.get(&partition) else {
            continue;
        };
        if message.offset() >= stop {
            continue;
        }
        messages += 1;
        if decode {
            if let Ok(Opened::Event(UserEvent::SamplesRecorded(e))) = codec
                .decode_user_event(message.payload().unwrap_or_default(), ring)
                .await
            {
                samples += e.samples.len() as u64;
            }
        }
        if message.offset() + 1 >= stop {
            remaining.remove(&partition);
        }
    }
    Ok(Consumed {
        seconds: started.elapsed().as_secs_f64(),
        messages,
        samples,
    })
}

/// Stop offsets covering about `share` of each partition.
pub fn stops(ends: &[(i32, i64)], share: f64) -> Vec<(i32, i64)> {
    ends.iter()
        .map(|(p, h)| (*p, ((*h as f64) * share.clamp(0.0, 1.0)).ceil() as i64))
        .collect()
}
