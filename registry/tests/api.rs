//! The registry's HTTP API against a real PostgreSQL (the stack's), one fresh PostgreSQL
//! schema per test. Each file covers one resource; `helpers` holds the harness.

// Only the stack half of the shared fixture: the pipeline half needs the other crates.
#[path = "../../tests/common/stack.rs"]
mod common;

#[path = "api/helpers.rs"]
mod helpers;

#[path = "api/compatibility.rs"]
mod compatibility;
#[path = "api/config.rs"]
mod config;
#[path = "api/errors.rs"]
mod errors;
#[path = "api/instances.rs"]
mod instances;
#[path = "api/reads.rs"]
mod reads;
#[path = "api/registration.rs"]
mod registration;
