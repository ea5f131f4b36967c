//! The processors: Kafka consumer groups that materialise the per-user event log into
//! TimescaleDB projections.
//!
//! Exactly-once effects come from keeping the consumer's position with the data: each batch
//! is applied in one PostgreSQL transaction that also advances `consumer_offsets`, and
//! messages below the stored offset are skipped. A crash, a rebalance or a zombie instance can
//! make Kafka redeliver, but never makes a message count twice or go missing.
//!
//! Layout: `config` (environment), `consumer` (the Kafka loop, batching, retries),
//! `offsets` (the offsets table), `dead_letter` (poison messages), `aggregation` (the
//! aggregation projection: samples, deduplicated hour/day/week/month aggregates).

pub mod aggregation;
mod config;
mod consumer;
mod dead_letter;
mod error;
pub mod metrics;
mod offsets;

pub use config::ProcessorConfig;
pub use consumer::run_aggregation;
pub use error::ProcessorError;
