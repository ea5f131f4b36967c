//! Sharing, the gateway's side: grants as the projection holds them ([`grants`], read, with
//! the revocations the gateway took before the processor applied them), the access log
//! ([`access`], append-only), SMART Health Links ([`links`]) and provider accounts
//! ([`providers`]).

pub mod access;
pub mod grants;
pub mod links;
pub mod providers;
