//! Appends events to Kafka. The producer is idempotent with `acks=all`, so a delivery report
//! means the event is on every in-sync replica; `publish` returns only after every report of
//! the request came back, which is what lets a 200 mean "durably in Kafka".

use std::time::{Duration, Instant};

use futures::future::try_join_all;
use healthpipe_schemas::{CodecError, Event, EventCodec, Topics};
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use schema_registry_converter::async_impl::schema_registry::{get_all_subjects, SrSettings};

use crate::config::GatewayConfig;
use crate::error::{ApiError, GatewayError};
use crate::metrics;

/// The largest event the gateway appends, in encoded bytes: the producer's
/// `message.max.bytes` (and below the broker's default limit of 1 MiB).
pub const MAX_EVENT_BYTES: usize = 1_000_000;

pub struct Publisher {
    producer: FutureProducer,
    codec: EventCodec,
    pub topics: Topics,
    timeout: Duration,
    registry_url: String,
}

impl Publisher {
    pub fn new(config: &GatewayConfig) -> Result<Self, GatewayError> {
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", &config.kafka_brokers)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("compression.type", "lz4")
            .set("linger.ms", "5")
            // Bounded local queue: when Kafka is slow the gateway answers 503 instead of
            // buffering without limit.
            .set("queue.buffering.max.kbytes", "262144")
            .set("message.max.bytes", MAX_EVENT_BYTES.to_string())
            .set(
                "message.timeout.ms",
                config.produce_timeout.as_millis().to_string(),
            )
            .create()
            .map_err(|e| GatewayError::Kafka(e.to_string()))?;
        Ok(Self {
            producer,
            codec: EventCodec::new(&config.registry_url),
            topics: Topics::with_prefix(&config.topic_prefix),
            timeout: config.produce_timeout,
            registry_url: config.registry_url.clone(),
        })
    }

    /// Appends one event; see `publish`.
    pub async fn publish_one<E: Event>(&self, user_id: &str, event: &E) -> Result<(), ApiError> {
        self.publish(user_id, std::slice::from_ref(event)).await
    }

    /// Appends `events` to the per-user stream under `user_id`, in order, and waits for the
    /// broker's acknowledgement of each.
    pub async fn publish<E: Event>(&self, user_id: &str, events: &[E]) -> Result<(), ApiError> {
        let topic = &self.topics.user_events;
        let mut payloads = Vec::with_capacity(events.len());
        for event in events {
            payloads.push(self.codec.encode(topic, event).await.map_err(codec_error)?);
        }
        // Checked for all events before any is sent: a request is appended whole or not at
        // all, and retrying one the log can never take is pointless (not a 503).
        if let Some(largest) = payloads.iter().map(Vec::len).max() {
            if largest > MAX_EVENT_BYTES {
                return Err(ApiError::PayloadTooLarge(format!(
                    "one event of this request would be {largest} bytes, more than the event \
                     log takes ({MAX_EVENT_BYTES}); nothing was stored: send fewer samples \
                     per request, or shorter metadata"
                )));
            }
        }
        let started = Instant::now();
        let deliveries = payloads.iter().map(|payload| {
            let record = FutureRecord::to(topic).key(user_id).payload(payload);
            self.producer.send(record, Timeout::After(self.timeout))
        });
        let result = try_join_all(deliveries).await;
        metrics::PRODUCE_SECONDS.observe(started.elapsed().as_secs_f64());
        result.map(|_| ()).map_err(|(e, _)| {
            tracing::warn!(error = %e, "kafka did not acknowledge the append");
            ApiError::Unavailable {
                reason:
                    "the event log did not acknowledge the write in time; nothing was stored, retry"
                        .into(),
                retry_after_secs: 1,
            }
        })
    }

    /// Whether the brokers answer a metadata request.
    pub async fn kafka_reachable(&self) -> bool {
        let producer = self.producer.clone();
        tokio::task::spawn_blocking(move || {
            producer
                .client()
                .fetch_metadata(None, Duration::from_secs(2))
                .is_ok()
        })
        .await
        .unwrap_or(false)
    }
}

impl Publisher {
    /// Whether the schema registry answers.
    pub async fn registry_reachable(&self) -> bool {
        let settings = SrSettings::new_builder(self.registry_url.clone())
            .set_timeout(Duration::from_secs(2))
            .build();
        match settings {
            Ok(settings) => get_all_subjects(&settings).await.is_ok(),
            Err(_) => false,
        }
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
