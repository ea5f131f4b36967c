//! The one fixture module of the integration tests. `stack` starts or reuses the real
//! servers (Kafka, PostgreSQL with TimescaleDB, the schema registry) through
//! `scripts/stack up`; `pipeline` gives each test its own database, topics, gateway and
//! processors on top of them, so tests never share state. `broker` is a Kafka broker of a
//! test's own and `services` runs the healthpipe binary's services as child processes, for
//! the fault tests that pause and kill them; `metrics` reads their `/metrics`; `archive` runs `healthpipe archive` and reads
//! its files back with pyarrow and DuckDB.

#![allow(dead_code)]

pub mod archive;
pub mod broker;
pub mod checksums;
pub mod exports;
pub mod fhir;
pub mod metrics;
mod pipeline;
pub mod query;
pub mod replay;
pub mod seeded;
pub mod services;
mod stack;

pub use pipeline::*;
pub use stack::*;
