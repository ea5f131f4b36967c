//! The event log's Kafka clients, as every service uses them.
//!
//! A long-lived librdkafka client can stop making progress for good after the broker paused
//! (a GC pause, a network partition, a fail-over): a producer whose deliveries all time out
//! while a fresh one delivers at once, a consumer that left its group and never rejoins.
//! Nothing reports it; the process just idles. This crate notices and recovers:
//!
//! - [`stall`]: how long a client has gone without progress (pure, no I/O);
//! - [`producer`]: the durable producer configuration (`acks=all`, idempotence) and a
//!   producer that replaces its client once deliveries have failed, or its idempotent
//!   state has not been usable, for the stall window;
//! - [`group`]: a consumer's membership in its group, read from librdkafka's statistics, so
//!   a processor can replace its consumer once it has been out of a steady group that long;
//! - [`metrics`]: `healthpipe_kafka_client_replacements_total{client}` and
//!   `healthpipe_kafka_client_stall_seconds{client}`.

pub mod group;
pub mod metrics;
pub mod producer;
pub mod stall;

pub use group::GroupHealth;
pub use producer::{client_config, durable_config, DurableProducer};
pub use stall::Stall;

/// How often librdkafka reports its statistics, which is how the clients' state is read.
pub const STATISTICS_INTERVAL_MS: &str = "1000";
