//! The processors: Kafka consumer groups that materialise the per-user event log into
//! TimescaleDB projections.
//!
//! Exactly-once effects come from keeping the consumer's position with the data: each batch
//! is applied in one PostgreSQL transaction that also advances `consumer_offsets`, and
//! messages below the stored offset are skipped. A crash, a rebalance or a zombie instance can
//! make Kafka redeliver, but never makes a message count twice or go missing.
//!
//! Layout: `config` (environment), `runtime` (the consumer, batches in one transaction
//! with their offsets, failures by class, dead letters, rebalances), `projection` (what a
//! projection provides), `publish` (derived events), and the two projections: `aggregation` (samples, deduplicated hour/day/week/month aggregates; announces
//! changed buckets) and `insights` (rules over the changed aggregates; day ticks).

pub mod aggregation;
mod config;
mod error;
pub mod insights;
pub mod metrics;
mod projection;
mod publish;
pub mod runtime;

pub use config::ProcessorConfig;
pub use error::ProcessorError;
pub use runtime::{run_aggregation, run_insights};
