//! Accounts: users, sessions, devices, idempotency keys, failed sign-ins, the outbox of
//! their events and the users' data keys, written by the gateway.
//!
//! These rows are the gateway's own state, not projections: the gateway changes them and
//! appends an event for every change the processors need. Where a write can lose a race (an
//! email or a device identifier taken meanwhile) the function says so in its return type
//! instead of failing with a constraint violation.

pub mod devices;
pub mod idempotency;
pub mod keys;
pub mod login_failures;
pub mod outbox;
pub mod sessions;
pub mod users;
