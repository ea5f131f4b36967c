//! The sessions this gateway has looked up, so that a read need not wait for the session
//! lookup before it sends its own first statement.
//!
//! A remembered session is never trusted on its own. A read sends the lookup and its first
//! statement together, pipelined on one connection (one round trip for both), and answers
//! only if the lookup still finds the same user, role and zone (`query::Reader::first`).
//! Signing out, erasure and expiry therefore end a session at once on every gateway, as
//! they did without this memory; what it saves is the round trip the lookup took before the
//! read could start. Writes and account changes always look the session up first.

use healthpipe_storage::accounts::sessions::SessionUser;
use quick_cache::sync::Cache;

/// At most this many sessions are remembered (about 100 bytes each, so ~10 MB). A session
/// not remembered costs one round trip more, nothing else.
pub const CAPACITY: usize = 100_000;

/// Token digest → the user its session was last found for.
pub struct KnownSessions {
    cache: Cache<Vec<u8>, SessionUser>,
}

impl KnownSessions {
    pub fn new(capacity: usize) -> Self {
        Self {
            cache: Cache::new(capacity),
        }
    }

    /// The user the session with this token digest was last found for, to be confirmed.
    pub fn get(&self, token_hash: &[u8]) -> Option<SessionUser> {
        self.cache.get(token_hash)
    }

    /// What a lookup just found for the token digest: its user, or no valid session (the
    /// token is ended, or never was).
    pub fn update(&self, token_hash: &[u8], found: Option<&SessionUser>) {
        match found {
            Some(user) => self.cache.insert(token_hash.to_vec(), user.clone()),
            None => {
                self.cache.remove(token_hash);
            }
        }
    }
}

impl Default for KnownSessions {
    fn default() -> Self {
        Self::new(CAPACITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(zone: chrono_tz::Tz) -> SessionUser {
        SessionUser {
            id: uuid::Uuid::from_u128(7),
            role: "user".into(),
            zone,
        }
    }

    #[test]
    fn a_session_is_remembered_replaced_and_forgotten() {
        let known = KnownSessions::new(10);
        assert_eq!(known.get(b"digest"), None);
        known.update(b"digest", Some(&user(chrono_tz::Europe::Berlin)));
        assert_eq!(known.get(b"digest"), Some(user(chrono_tz::Europe::Berlin)));
        known.update(b"digest", Some(&user(chrono_tz::Asia::Tokyo)));
        assert_eq!(known.get(b"digest"), Some(user(chrono_tz::Asia::Tokyo)));
        known.update(b"digest", None);
        assert_eq!(known.get(b"digest"), None);
    }

    #[test]
    fn memory_is_bounded() {
        let known = KnownSessions::new(100);
        for i in 0..10_000u32 {
            known.update(&i.to_be_bytes(), Some(&user(chrono_tz::UTC)));
        }
        let kept = (0..10_000u32)
            .filter(|i| known.get(&i.to_be_bytes()).is_some())
            .count();
        assert!(kept <= 200, "{kept} sessions kept with room for 100");
    }
}
