//! Appends derived events (aggregate changes, insights) to their topics. Idempotent producer
//! with `acks=all`; `send_all` returns only when the broker acknowledged every event, so the
//! caller can commit its transaction knowing nothing derived from it is lost.

use std::time::Duration;

use futures::future::try_join_all;
use healthpipe_eventlog::{durable_config, DurableProducer};
use healthpipe_schemas::{Event, EventCodec};
use rdkafka::producer::FutureRecord;

use crate::config::ProcessorConfig;
use crate::error::ProcessorError;

pub struct EventProducer {
    producer: DurableProducer,
    codec: EventCodec,
}

impl EventProducer {
    pub fn new(config: &ProcessorConfig) -> Result<Self, ProcessorError> {
        let mut client = durable_config(&config.kafka_brokers);
        client.set("compression.type", "lz4").set("linger.ms", "5");
        Ok(Self {
            producer: DurableProducer::new("derived-events", client, config.kafka_stall_timeout)?,
            codec: EventCodec::new(&config.registry_url),
        })
    }

    /// Appends every `(key, event, timestamp in ms)` to `topic`, in order per key, and waits for
    /// all acknowledgements.
    pub async fn send_all<E: Event>(
        &self,
        topic: &str,
        events: &[(String, E, Option<i64>)],
    ) -> Result<(), ProcessorError> {
        let mut payloads = Vec::with_capacity(events.len());
        for (_, event, _) in events {
            let payload = self.codec.encode(topic, event).await.map_err(|e| {
                if e.is_retryable() {
                    ProcessorError::Registry(e.to_string())
                } else {
                    ProcessorError::Config(format!("cannot encode {}: {e}", E::FULL_NAME))
                }
            })?;
            payloads.push(payload);
        }
        let deliveries = events.iter().zip(&payloads).map(|((key, _, ts), payload)| {
            let mut record = FutureRecord::to(topic).key(key).payload(payload);
            if let Some(ms) = ts {
                record = record.timestamp(*ms);
            }
            self.producer.send(record, Duration::from_secs(30))
        });
        try_join_all(deliveries).await?;
        Ok(())
    }
}
