//! Accounts: users, sessions, devices and idempotency keys, written by the gateway.
