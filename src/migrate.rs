//! `healthpipe migrate`: the schema lives in the storage layer (`healthpipe_storage::migrations`).

pub use healthpipe_storage::migrations::{run, MIGRATIONS};
