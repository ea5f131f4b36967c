//! The one storage layer of the gateway and the processors: every SQL statement they run
//! lives in a `.sql` file beside the module that owns it and goes through [`sql`], which
//! prepares it once per connection and times it (a latency histogram per statement, and the
//! statement's name in the logs).
//!
//! Modules by owner:
//! - [`accounts`]: users, sessions, devices, idempotency keys (written by the gateway);
//! - [`projections`]: what the processors materialise from the log (samples, the sample
//!   index, aggregates and the day partials they are combined from, profiles and rankings,
//!   insights, consumer offsets);
//! - [`imports`]: import jobs and the totals their reports read;
//! - [`reads`]: what the query, explain and summary endpoints read from the projections;
//! - [`retention`]: removing what the retention horizons no longer keep;
//! - [`replay`]: replays into a schema of their own, and the switch;
//! - [`archive`]: what `healthpipe archive` reads of the hot tier and its manifest of the
//!   cold tier's files.
//!
//! Errors are classified once, by SQLSTATE, in [`error`]: callers decide to retry, to
//! dead-letter or to stop on the class, never on a message text. The schema registry, a
//! separate service, keeps its own statements but shares that classification.

pub mod accounts;
pub mod archive;
pub mod audit;
pub mod details;
pub mod error;
pub mod imports;
pub mod migrations;
pub mod pool;
pub mod projections;
pub mod reads;
pub mod replay;
pub mod retention;
pub mod sharing;
pub mod sql;

pub use deadpool_postgres::GenericClient;
pub use error::{ErrorClass, StoreError};
pub use pool::{connect, Pool};
