//! Protection of sign-in against guessing that cannot be turned against users.
//!
//! Failures are counted per account and per (account, client address), in PostgreSQL, so
//! every replica sees the same counts, and before the password is checked, so parallel
//! guesses cannot outrun the count (a success clears both). The rules:
//!
//! - from one address, an account gets [`FREE_PER_ADDRESS`] failures; after that each
//!   attempt from there waits a back-off that starts at [`FIRST_ADDRESS_BLOCK`] and doubles
//!   with every failure, capped at [`MAX_BLOCK`];
//! - across all addresses, an account gets [`FREE_PER_ACCOUNT`] failures; after that the
//!   account-wide back-off (from [`FIRST_ACCOUNT_BLOCK`], doubling) applies to every address that has failed on it, but never to a
//!   fresh one: the right password from an address with no failures is never refused
//!   because of other people's failures;
//! - nothing is keyed by address alone: one address (a NAT, a load balancer) failing on one
//!   account never blocks another account.
//!
//! Emails and addresses are stored only as SHA-256 digests (fixed size, whatever was typed).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use chrono::{DateTime, Utc};
use healthpipe_storage::accounts::login_failures::{self, Failures, SignIn};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::AppState;

/// Failures an account may have from one address before back-off starts.
pub const FREE_PER_ADDRESS: i32 = 5;
/// Failures an account may have from all addresses before the account-wide back-off starts.
pub const FREE_PER_ACCOUNT: i32 = 20;
/// The first back-off of an address on an account (long enough that a script notices,
/// short enough for someone who mistyped); it doubles with every further failure.
pub const FIRST_ADDRESS_BLOCK: Duration = Duration::from_secs(5);
/// The first account-wide back-off, for guesses spread over many addresses.
pub const FIRST_ACCOUNT_BLOCK: Duration = Duration::from_secs(30);
/// The longest back-off.
pub const MAX_BLOCK: Duration = Duration::from_secs(15 * 60);
/// Rows idle this long (and blocking nothing) are purged.
const IDLE: Duration = Duration::from_secs(24 * 60 * 60);

/// How long `failures` failures block, given `free` free ones and the `first` back-off.
pub fn back_off(failures: i32, free: i32, first: Duration) -> Duration {
    let over = failures - free;
    if over < 0 {
        return Duration::ZERO;
    }
    let doublings = over.min(20) as u32;
    first.saturating_mul(1 << doublings).min(MAX_BLOCK)
}

/// What one attempt may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Check the password; the attempt is already counted as the new state.
    Try(SignIn),
    /// Refuse without checking: retry in this many seconds.
    Refuse { retry_after_secs: u64 },
}

/// Decides one attempt from the two locked rows as of `now`.
pub fn decide(current: SignIn, now: DateTime<Utc>) -> Decision {
    let fresh_address = current.address.count == 0;
    let mut wait = current.address.blocked_until;
    if !fresh_address {
        wait = wait.max(current.account.blocked_until);
    }
    if wait > now {
        let secs = (wait - now).num_milliseconds().max(1) as u64;
        return Decision::Refuse {
            retry_after_secs: secs.div_ceil(1000),
        };
    }
    let count = |f: Failures, free: i32, first: Duration| {
        let count = f.count.saturating_add(1);
        Failures {
            count,
            blocked_until: now + back_off(count, free, first),
        }
    };
    Decision::Try(SignIn {
        account: count(current.account, FREE_PER_ACCOUNT, FIRST_ACCOUNT_BLOCK),
        address: count(current.address, FREE_PER_ADDRESS, FIRST_ADDRESS_BLOCK),
    })
}

/// The digests one sign-in is counted under.
pub struct Keys {
    account: [u8; 32],
    address: [u8; 32],
}

impl Keys {
    pub fn new(email: &str, address: IpAddr) -> Self {
        Keys {
            account: Sha256::digest(email.as_bytes()).into(),
            address: Sha256::digest(address.to_string().as_bytes()).into(),
        }
    }
}

/// Counts an attempt before the password is checked, or refuses it (429).
pub async fn admit(state: &AppState, keys: &Keys) -> Result<(), ApiError> {
    let mut db = state.db.get().await?;
    login_failures::purge(&db, IDLE).await?;
    let tx = db.transaction().await?;
    let current = login_failures::lock(&tx, &keys.account, &keys.address).await?;
    match decide(current, Utc::now()) {
        Decision::Refuse { retry_after_secs } => {
            tx.commit().await?;
            Err(ApiError::TooManyRequests { retry_after_secs })
        }
        Decision::Try(counted) => {
            login_failures::update(&tx, &keys.account, &keys.address, &counted).await?;
            tx.commit().await?;
            Ok(())
        }
    }
}

/// A successful sign-in: the account and this address start afresh.
pub async fn succeeded(state: &AppState, keys: &Keys) -> Result<(), ApiError> {
    let db = state.db.get().await?;
    login_failures::clear(&db, &keys.account, &keys.address).await?;
    Ok(())
}

/// The client's address: the peer's, or, when the peer is a trusted proxy, the last address
/// in `X-Forwarded-For` that is not itself a trusted proxy (everything left of it could be
/// made up by the client).
pub fn client_address(
    peer: Option<SocketAddr>,
    forwarded_for: Option<&str>,
    trusted: &[IpAddr],
) -> Option<IpAddr> {
    let peer = peer?.ip();
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded = forwarded_for.unwrap_or_default();
    for hop in forwarded.rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => continue,
            Ok(ip) => return Some(ip),
            Err(_) => break,
        }
    }
    Some(peer)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap()
    }

    fn failures(count: i32, blocked_for_secs: i64) -> Failures {
        Failures {
            count,
            blocked_until: now() + chrono::TimeDelta::seconds(blocked_for_secs),
        }
    }

    #[test]
    fn back_off_starts_after_the_free_failures_doubles_and_is_capped() {
        let second = Duration::from_secs(1);
        assert_eq!(back_off(4, 5, second), Duration::ZERO);
        assert_eq!(back_off(5, 5, second), Duration::from_secs(1));
        assert_eq!(back_off(6, 5, second), Duration::from_secs(2));
        assert_eq!(back_off(10, 5, second), Duration::from_secs(32));
        assert_eq!(back_off(30, 5, second), MAX_BLOCK);
        assert_eq!(back_off(i32::MAX, 5, second), MAX_BLOCK);
    }

    #[test]
    fn an_attempt_is_counted_before_the_password_is_checked() {
        let current = SignIn {
            account: failures(0, -1),
            address: failures(4, -1),
        };
        let Decision::Try(counted) = decide(current, now()) else {
            panic!("four failures leave a fifth try");
        };
        assert_eq!((counted.account.count, counted.address.count), (1, 5));
        assert_eq!(
            counted.address.blocked_until,
            now() + chrono::TimeDelta::seconds(5)
        );
        assert_eq!(counted.account.blocked_until, now());
        assert_eq!(
            decide(counted, now()),
            Decision::Refuse {
                retry_after_secs: 5
            }
        );
    }

    #[test]
    fn a_blocked_account_refuses_addresses_that_failed_but_never_a_fresh_one() {
        let blocked_account = failures(FREE_PER_ACCOUNT + 3, 600);
        let fresh = SignIn {
            account: blocked_account,
            address: failures(0, -1),
        };
        assert!(matches!(decide(fresh, now()), Decision::Try(_)));
        let failed_before = SignIn {
            account: blocked_account,
            address: failures(1, -1),
        };
        assert_eq!(
            decide(failed_before, now()),
            Decision::Refuse {
                retry_after_secs: 600
            }
        );
    }

    #[test]
    fn the_client_address_comes_from_forwarded_for_only_behind_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let peer = |ip: &str| Some(SocketAddr::new(ip.parse().unwrap(), 5000));
        let header = Some("6.6.6.6, 203.0.113.7, 10.0.0.1");
        // Untrusted peer: its own address, whatever the header says.
        assert_eq!(
            client_address(peer("198.51.100.2"), header, &[proxy]),
            "198.51.100.2".parse().ok()
        );
        // Trusted peer: the last hop that is not a trusted proxy; what the client wrote
        // before it is ignored.
        assert_eq!(
            client_address(peer("10.0.0.1"), header, &[proxy]),
            "203.0.113.7".parse().ok()
        );
        // Trusted peer without a usable header: the peer.
        assert_eq!(
            client_address(peer("10.0.0.1"), Some("garbage"), &[proxy]),
            "10.0.0.1".parse().ok()
        );
        assert_eq!(client_address(None, header, &[proxy]), None);
    }
}
