//! Appends events to Kafka. The producer is idempotent with `acks=all`, so a delivery report
//! means the event is on every in-sync replica; `publish` returns only after every report of
//! the request came back, which is what lets a 200 mean "durably in Kafka".

use std::time::{Duration, Instant};

use futures::future::try_join_all;
use healthpipe_crypto::DataKey;
use healthpipe_eventlog::{durable_config, DurableProducer};
use healthpipe_schemas::{CodecError, Event, EventCodec, Topics, UserErased};
use rdkafka::producer::FutureRecord;

use crate::config::GatewayConfig;
use crate::error::{ApiError, GatewayError};
use crate::metrics;

/// The largest event the gateway appends, in encoded bytes: the producer's
/// `message.max.bytes` (and below the broker's default limit of 1 MiB).
pub const MAX_EVENT_BYTES: usize = 1_000_000;

pub struct Publisher {
    producer: DurableProducer,
    codec: EventCodec,
    pub topics: Topics,
    timeout: Duration,
    /// Events in clear instead of sealed: only in the benchmark's build, when told to.
    in_clear: bool,
}

impl Publisher {
    pub fn new(config: &GatewayConfig) -> Result<Self, GatewayError> {
        let mut client = durable_config(&config.kafka_brokers, &config.kafka_security.properties());
        client
            .set("compression.type", "lz4")
            .set("linger.ms", "5")
            // Bounded local queue: when Kafka is slow the gateway answers 503 instead of
            // buffering without limit.
            .set("queue.buffering.max.kbytes", "262144")
            .set("message.max.bytes", MAX_EVENT_BYTES.to_string())
            .set(
                "message.timeout.ms",
                config.produce_timeout.as_millis().to_string(),
            );
        let producer = DurableProducer::new("gateway", client, config.kafka_stall_timeout)
            .map_err(|e| GatewayError::Kafka(e.to_string()))?;
        Ok(Self {
            producer,
            codec: EventCodec::new(&config.registry_url),
            topics: config.topics.clone(),
            timeout: config.produce_timeout,
            in_clear: unsealed_for_benchmarks(),
        })
    }
    /// Appends one event; see `publish`.
    pub async fn publish_one<E: Event>(
        &self,
        user_id: &str,
        key: &DataKey,
        event: &E,
    ) -> Result<(), ApiError> {
        self.publish(user_id, key, std::slice::from_ref(event))
            .await
    }

    /// Appends `events`, sealed with the user's data `key`, to the per-user stream under
    /// `user_id`, in order, and waits for the broker's acknowledgement of each.
    pub async fn publish<E: Event>(
        &self,
        user_id: &str,
        key: &DataKey,
        events: &[E],
    ) -> Result<(), ApiError> {
        let mut payloads = Vec::with_capacity(events.len());
        for event in events {
            payloads.push(self.encode(event, key).await?);
        }
        self.append(user_id, &payloads).await.map(|_| ())
    }

    /// `event` as the log stores it (sealed with `key`, Confluent wire format), checked
    /// against the largest event the log takes: retrying one it can never take is
    /// pointless (413, not 503).
    pub async fn encode<E: Event>(&self, event: &E, key: &DataKey) -> Result<Vec<u8>, ApiError> {
        let topic = &self.topics.user_events;
        let payload = match self.in_clear {
            false => self.codec.encode(topic, event, key).await,
            true => self.codec.encode_in_clear(topic, event).await,
        };
        self.check_size(payload.map_err(codec_error)?)
    }

    /// An erasure as the log stores it: in clear, as there is no key left to seal with.
    pub async fn encode_erasure(&self, event: &UserErased) -> Result<Vec<u8>, ApiError> {
        let payload = self
            .codec
            .encode_erasure(&self.topics.user_events, event)
            .await
            .map_err(codec_error)?;
        self.check_size(payload)
    }

    fn check_size(&self, payload: Vec<u8>) -> Result<Vec<u8>, ApiError> {
        if payload.len() > MAX_EVENT_BYTES {
            return Err(ApiError::PayloadTooLarge(format!(
                "one event of this request would be {} bytes, more than the event log takes \
                 ({MAX_EVENT_BYTES}); nothing was stored: send fewer samples per request, or \
                 shorter metadata",
                payload.len()
            )));
        }
        Ok(payload)
    }

    /// Appends encoded events to the per-user stream under `user_id`, in order, and waits
    /// for the broker's acknowledgement of each; where each went (partition, offset).
    pub async fn append(
        &self,
        user_id: &str,
        payloads: &[impl AsRef<[u8]>],
    ) -> Result<Vec<(i32, i64)>, ApiError> {
        let topic = &self.topics.user_events;
        let started = Instant::now();
        let deliveries = payloads.iter().map(|payload| {
            let record = FutureRecord::to(topic)
                .key(user_id)
                .payload(payload.as_ref());
            self.producer.send(record, self.timeout)
        });
        let result = try_join_all(deliveries).await;
        metrics::PRODUCE_SECONDS.observe(started.elapsed().as_secs_f64());
        result
            .map(|deliveries| deliveries.iter().map(|d| (d.partition, d.offset)).collect())
            .map_err(|e| {
                tracing::warn!(error = %e, "kafka did not acknowledge the append");
                ApiError::Unavailable {
                reason:
                    "the event log did not acknowledge the write in time; nothing was stored, retry"
                        .into(),
                retry_after_secs: 1,
            }
            })
    }

    /// Whether the producer is usable (no network round trip: readiness must answer within
    /// a probe's timeout). A producer stalled for the window is replaced here, so this is
    /// false only while a new one cannot be created (see `DurableProducer::healthy`).
    pub fn kafka_healthy(&self) -> bool {
        self.producer.healthy()
    }
}

fn codec_error(e: CodecError) -> ApiError {
    if e.is_retryable() {
        ApiError::Unavailable {
            reason: "schema registry unavailable; nothing was stored, retry".into(),
            retry_after_secs: 1,
        }
    } else {
        ApiError::Internal(e.to_string())
    }
}

/// Whether this is the benchmark's build, told to write events in clear to measure what
/// sealing costs (see the `unsealed-for-benchmarks` feature).
#[cfg(feature = "unsealed-for-benchmarks")]
fn unsealed_for_benchmarks() -> bool {
    let in_clear = std::env::var("HEALTHPIPE_BENCH_UNSEALED").as_deref() == Ok("1");
    if in_clear {
        tracing::warn!("HEALTHPIPE_BENCH_UNSEALED=1: this benchmark build writes events in clear");
    }
    in_clear
}

#[cfg(not(feature = "unsealed-for-benchmarks"))]
fn unsealed_for_benchmarks() -> bool {
    false
}
