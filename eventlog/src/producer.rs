//! The durable producer every service appends with: `acks=all` and idempotence, so an
//! acknowledged write is on every in-sync replica and never duplicated by the client's own
//! retries, and a client that has stopped making progress is replaced by a fresh one.
//!
//! After a broker pause, a librdkafka producer can stay broken for good (every delivery
//! times out, "new leader not found in cache") while a new producer on the same broker
//! delivers at once. Two signs are watched: deliveries failing with none succeeding since,
//! and the idempotent producer's state (from its statistics) not `Assigned`. Once either has
//! lasted the stall window, the next send or readiness check replaces the client. Messages
//! the old client still held are purged: their senders got an error (never a success) and
//! retry, which the producer id and the events' own ids make harmless downstream.

use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::future_producer::Delivery;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::statistics::Statistics;
use rdkafka::util::Timeout;
use rdkafka::ClientContext;

use crate::metrics;
use crate::stall::Stall;

/// The configuration every Kafka client of the services starts from: the brokers and the
/// security settings (`security.protocol`, TLS, SASL: see `healthpipe_config::KafkaSecurity`).
pub fn client_config(brokers: &str, security: &[(String, String)]) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", brokers);
    for (key, value) in security {
        config.set(key, value);
    }
    config
}

/// The configuration every producer of the event log starts from. A delivery not
/// acknowledged within 30 s fails (librdkafka's default is 5 minutes), so the caller retries
/// and a stalled client is noticed within the stall window; the gateway sets its own
/// produce timeout on top.
pub fn durable_config(brokers: &str, security: &[(String, String)]) -> ClientConfig {
    let mut config = client_config(brokers, security);
    config
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("message.timeout.ms", "30000")
        .set("statistics.interval.ms", crate::STATISTICS_INTERVAL_MS);
    config
}

/// What the client has shown of its progress.
#[derive(Debug, Default)]
struct Health {
    deliveries: Stall,
    idempotence: Stall,
}

impl Health {
    fn stalled_for(&self, now: Instant) -> Option<Duration> {
        match (
            self.deliveries.stalled_for(now),
            self.idempotence.stalled_for(now),
        ) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Reads the idempotent producer's state from librdkafka's statistics.
struct Watch {
    health: Arc<Mutex<Health>>,
}

impl ClientContext for Watch {
    fn stats(&self, statistics: Statistics) {
        if let Some(eos) = statistics.eos {
            lock(&self.health)
                .idempotence
                .observe(Instant::now(), eos.idemp_state == "Assigned");
        }
    }
}

/// One client and what it has shown.
#[derive(Clone)]
struct Client {
    producer: FutureProducer<Watch>,
    health: Arc<Mutex<Health>>,
}

impl Client {
    fn create(config: &ClientConfig) -> Result<Self, KafkaError> {
        let health = Arc::new(Mutex::new(Health::default()));
        let producer = config.create_with_context(Watch {
            health: health.clone(),
        })?;
        Ok(Self { producer, health })
    }
}

/// A producer that replaces its client once it has made no progress for `window`.
pub struct DurableProducer {
    /// Names the client in logs and metrics (`gateway`, `derived-events`, ...).
    name: &'static str,
    config: ClientConfig,
    window: Duration,
    client: RwLock<Client>,
}

impl DurableProducer {
    /// A producer of `config` (start from [`durable_config`]) replaced after `window`
    /// without progress.
    pub fn new(
        name: &'static str,
        config: ClientConfig,
        window: Duration,
    ) -> Result<Self, KafkaError> {
        let client = Client::create(&config)?;
        metrics::STALL_SECONDS.with_label_values(&[name]).set(0);
        Ok(Self {
            name,
            config,
            window,
            client: RwLock::new(client),
        })
    }

    /// Sends `record` and waits for the broker's acknowledgement (`queue_timeout` bounds
    /// the wait for room in the local queue; `message.timeout.ms` the delivery); where it
    /// went.
    pub async fn send<K, P>(
        &self,
        record: FutureRecord<'_, K, P>,
        queue_timeout: Duration,
    ) -> Result<Delivery, KafkaError>
    where
        K: rdkafka::message::ToBytes + ?Sized,
        P: rdkafka::message::ToBytes + ?Sized,
    {
        self.replace_if_stalled();
        let client = self.current();
        let sent = Instant::now();
        match client
            .producer
            .send(record, Timeout::After(queue_timeout))
            .await
        {
            Ok(delivery) => {
                lock(&client.health).deliveries.progressed();
                Ok(delivery)
            }
            Err((e, _)) => {
                // No progress since the send: the stall runs from there.
                if is_stall_sign(&e) {
                    lock(&client.health).deliveries.failed(sent);
                }
                Err(e)
            }
        }
    }

    /// Whether the producer is usable: its client has not gone without progress for the
    /// stall window (one that has is replaced here first, so this is false only while no new
    /// client can be created). A broker down for everyone is not this process's fault: the
    /// appends' own errors report it, and every replica staying in service keeps reads up.
    pub fn healthy(&self) -> bool {
        self.replace_if_stalled();
        let stalled = lock(&self.current().health).stalled_for(Instant::now());
        stalled.is_none_or(|d| d < self.window)
    }

    fn current(&self) -> Client {
        self.client
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Replaces the client if it has made no progress for the window.
    fn replace_if_stalled(&self) {
        let stalled = lock(&self.current().health).stalled_for(Instant::now());
        let seconds = stalled.map_or(0, |d| d.as_secs());
        metrics::STALL_SECONDS
            .with_label_values(&[self.name])
            .set(i64::try_from(seconds).unwrap_or(i64::MAX));
        let Some(stalled) = stalled.filter(|d| *d >= self.window) else {
            return;
        };
        let mut slot = self
            .client
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Another caller may have replaced it meanwhile.
        if lock(&slot.health).stalled_for(Instant::now()) < Some(self.window) {
            return;
        }
        match Client::create(&self.config) {
            Ok(fresh) => {
                let old = std::mem::replace(&mut *slot, fresh);
                drop(slot);
                metrics::REPLACEMENTS.with_label_values(&[self.name]).inc();
                metrics::STALL_SECONDS
                    .with_label_values(&[self.name])
                    .set(0);
                tracing::error!(
                    client = self.name,
                    stalled_secs = stalled.as_secs(),
                    "kafka producer made no progress for the stall window; replaced it with a \
                     new client"
                );
                // Dropping purges and flushes for up to half a second: not on this thread.
                std::thread::spawn(move || drop(old));
            }
            Err(e) => tracing::error!(client = self.name, error = %e,
                "kafka producer stalled and a new one cannot be created; keeping the old one"),
        }
    }
}

/// Whether a failed delivery says anything about the client's progress: a message too large
/// or malformed is the message's fault, not the client's.
fn is_stall_sign(e: &KafkaError) -> bool {
    !matches!(
        e.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::InvalidMessageSize
                | RDKafkaErrorCode::InvalidMessage
        )
    )
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_sign_stalls_the_client_for_the_longer_time() {
        let t0 = Instant::now();
        let mut health = Health::default();
        assert_eq!(health.stalled_for(t0), None);
        health.idempotence.failed(t0);
        health.deliveries.failed(t0 + Duration::from_secs(5));
        assert_eq!(
            health.stalled_for(t0 + Duration::from_secs(10)),
            Some(Duration::from_secs(10))
        );
        health.idempotence.progressed();
        assert_eq!(
            health.stalled_for(t0 + Duration::from_secs(10)),
            Some(Duration::from_secs(5))
        );
    }

    #[test]
    fn a_message_too_large_is_not_a_sign_of_a_stalled_client() {
        let too_large = KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge);
        let timed_out = KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        assert!(!is_stall_sign(&too_large));
        assert!(is_stall_sign(&timed_out));
    }
}
