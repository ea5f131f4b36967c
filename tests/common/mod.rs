//! The one fixture module of the integration tests. `stack` starts or reuses the real
//! servers (Kafka, PostgreSQL with TimescaleDB, the schema registry) through
//! `scripts/stack up`; `pipeline` gives each test its own database, topics, gateway and
//! processors on top of them, so tests never share state.

#![allow(dead_code)]

mod pipeline;
pub mod query;
pub mod seeded;
mod stack;

pub use pipeline::*;
pub use stack::*;
