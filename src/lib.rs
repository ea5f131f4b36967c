//! The `healthpipe` binary's library: the command line, database migrations, Kafka topic
//! set-up and the demo. The services themselves live in their own crates (`gateway`,
//! `processors`, `registry`); this crate wires them to the command line so tests can drive
//! the same code the binary runs.

pub mod archive;
pub mod cli;
pub mod demo;
mod demo_sharing;
pub mod import;
pub mod keys;
pub mod progress;
pub mod providers;
pub mod replay;
pub mod retention;
pub mod schema_registration;
pub mod telemetry;
pub mod topic;
pub mod topics;
pub mod workload;
