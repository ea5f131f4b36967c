//! Poison messages (corrupt bytes, unknown schema ids, records that do not decode) go to the
//! dead-letter topic with the original key and bytes and the reason in headers, so nothing
//! vanishes silently and the processor keeps going.

use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::message::{Header, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

use crate::error::ProcessorError;
use crate::metrics;

pub struct DeadLetters {
    producer: FutureProducer,
    topic: String,
}

impl DeadLetters {
    pub fn new(brokers: &str, topic: String) -> Result<Self, ProcessorError> {
        let producer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .create()?;
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
        self.producer
            .send(record, Timeout::After(Duration::from_secs(30)))
            .await
            .map_err(|(e, _)| ProcessorError::Kafka(e))?;
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
