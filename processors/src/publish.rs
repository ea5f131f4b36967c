//! Appends derived events (aggregate changes, insights) to their topics. Idempotent producer
//! with `acks=all`; `send_all` returns only when the broker acknowledged every event, so the
//! caller can commit its transaction knowing nothing derived from it is lost.

use std::time::Duration;

use futures::future::try_join_all;
use healthpipe_crypto::{Keyring, Lookup};
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
        let mut client = durable_config(&config.kafka_brokers, &config.kafka_security.properties());
        client.set("compression.type", "lz4").set("linger.ms", "5");
        Ok(Self {
            producer: DurableProducer::new("derived-events", client, config.kafka_stall_timeout)?,
            codec: EventCodec::new(&config.registry_url),
        })
    }

    /// Appends every `(key, event, timestamp in ms)` to `topic`, each sealed with its user's
    /// data key from `keys`, in order per key, and waits for all acknowledgements. Events of
    /// users whose key is gone (erased) are left out: nothing new is said about them.
    pub async fn send_all<E: Event>(
        &self,
        topic: &str,
        events: &[(String, E, Option<i64>)],
        keys: &Keyring,
    ) -> Result<(), ProcessorError> {
        let mut payloads = Vec::with_capacity(events.len());
        let mut sent = Vec::with_capacity(events.len());
        for item in events {
            let (_, event, _) = item;
            let key = match keys.get(event.user_id()) {
                Lookup::Key(key) => key,
                Lookup::Gone => continue,
                Lookup::NotLoaded => {
                    return Err(ProcessorError::Config(format!(
                        "no data key was loaded for a user of a derived {} (a bug)",
                        E::FULL_NAME
                    )))
                }
            };
            let payload = self.codec.encode(topic, event, key).await.map_err(|e| {
                if e.is_retryable() {
                    ProcessorError::Registry(e.to_string())
                } else {
                    ProcessorError::Config(format!("cannot encode {}: {e}", E::FULL_NAME))
                }
            })?;
            payloads.push(payload);
            sent.push(item);
        }
        let deliveries = sent.iter().zip(&payloads).map(|((key, _, ts), payload)| {
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
