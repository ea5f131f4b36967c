//! The processors: Kafka consumer groups that materialise the per-user event log into
//! TimescaleDB projections.
//!
//! Exactly-once effects come from keeping the consumer's position with the data: each batch
//! is applied in one PostgreSQL transaction that also advances `consumer_offsets`, and
//! messages below the stored offset are skipped. A crash, a rebalance or a zombie instance can
//! make Kafka redeliver, but never makes a message count twice or go missing.
//!
//! Layout: `config` (environment), `consumer` (the Kafka loop, batching, retries),
//! `projection` (one batch in one transaction with its offsets), `offsets` (the offsets
//! table), `dead_letter` (poison messages), `publish` (derived events), and the two
//! projections: `aggregation` (samples, deduplicated hour/day/week/month aggregates; announces
//! changed buckets) and `insights` (rules over the changed aggregates; day ticks).

pub mod aggregation;
mod config;
mod consumer;
mod dead_letter;
mod error;
pub mod insights;
pub mod metrics;
mod offsets;
mod projection;
mod publish;

pub use config::ProcessorConfig;
pub use consumer::{run_aggregation, run_insights};
pub use error::ProcessorError;
