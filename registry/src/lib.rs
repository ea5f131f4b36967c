//! Schema registry.
