//! A Confluent-compatible schema registry for Avro, stored in PostgreSQL.
//!
//! Producers and consumers speak to it through Confluent's REST API (the subset real clients
//! call), so the stock serializers work unchanged; keeping it in-house removes a JVM service
//! from the stack and puts the schemas in the same database as everything else.
//!
//! - [`config`]: environment → [`RegistryConfig`].
//! - [`store`]: the PostgreSQL tables and every query.
//! - [`compat`]: compatibility levels and the Avro resolution check.
//! - [`api`]: the warp routes; [`routes`] is what tests drive with `warp::test::request()`.
//! - [`serve`]: the whole server, for the `healthpipe registry` subcommand.

pub mod api;
pub mod avro;
pub mod compat;
pub mod config;
pub mod error;
pub mod server;
pub mod store;
pub mod subject;

pub use api::{routes, routes_for, Access};
pub use compat::CompatibilityLevel;
pub use config::{ConfigError, PgSchema, RegistryConfig};
pub use error::{ApiError, RegistryError};
pub use server::{serve, serve_listener, serve_split};
pub use store::{Store, StoreError};
