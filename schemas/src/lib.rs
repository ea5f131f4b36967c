//! Event contracts.
