//! Passwords, bearer tokens and the `with_user` filter that turns a token into a user.
//! Passwords are stored only as Argon2id hashes and tokens only as SHA-256 digests, so a
//! database leak yields neither.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use healthpipe_domain::Role;
use healthpipe_storage::accounts::sessions;
use rand::{RngCore, TryRngCore};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use uuid::Uuid;
use warp::Filter;

use crate::error::ApiError;
use crate::AppState;

/// The caller, as established from a valid, unexpired session token.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: Uuid,
    pub role: String,
    pub token_hash: Vec<u8>,
    /// The zone the caller's aggregates are bucketed in, read with the session.
    pub zone: chrono_tz::Tz,
    /// Taken from the sessions this gateway remembers, not looked up for this request: the
    /// read's first statement confirms it (see `known_sessions`). Only read endpoints get
    /// such a caller ([`with_reader`]).
    pub remembered: bool,
}

/// Argon2id is deliberately slow (tens of ms) and takes 19 MiB per hash: run it off the
/// async threads, at most `hashing`'s permits at a time, so parallel sign-ups and sign-ins
/// queue instead of exhausting memory.
pub async fn hash_password(hashing: &Semaphore, password: String) -> Result<String, ApiError> {
    let _permit = hashing
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(format!("password hashing: {e}")))?;
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes(), &new_salt())
            .map(|h| h.to_string())
            .map_err(|e| ApiError::Internal(format!("argon2: {e}")))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// Verifies against the stored hash, or against a fixed dummy hash when the account does not
/// exist, so an unknown email and a wrong password take the same time. Bounded like
/// [`hash_password`].
pub async fn verify_password(
    hashing: &Semaphore,
    password: String,
    stored: Option<String>,
) -> bool {
    let Ok(_permit) = hashing.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        let hash = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    Argon2::default()
        .hash_password(b"not a password of anyone", &new_salt())
        .expect("argon2 with default parameters")
        .to_string()
});

pub(crate) fn new_salt() -> SaltString {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    SaltString::encode_b64(&bytes).expect("16 bytes make a valid salt")
}

/// `N` bytes from the OS's random source (access codes, link secrets, generated passwords).
pub(crate) fn os_random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .expect("the OS's random source answers");
    bytes
}

/// A new random bearer token and the digest stored for it.
pub fn new_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("hp_{}", hex::encode(bytes));
    let digest = token_digest(&token);
    (token, digest)
}

pub fn token_digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Extracts the caller from `Authorization: Bearer <token>`, its session looked up; rejects
/// with 401 otherwise (also for a header that is not visible ASCII or names another scheme).
pub fn with_user(
    state: Arc<AppState>,
) -> impl Filter<Extract = (AuthUser,), Error = warp::Rejection> + Clone {
    caller(state, false)
}

/// Like `with_user`, and the caller must have `role` (403 otherwise).
pub fn with_role(
    state: Arc<AppState>,
    role: Role,
) -> impl Filter<Extract = (AuthUser,), Error = warp::Rejection> + Clone {
    caller(state, false).and_then(move |user| require(user, role))
}

/// Like `with_role`, for the read endpoints only: a session this gateway remembers is taken
/// as it was, to be confirmed by the read's first statement (`query::Reader::first`), so the
/// lookup costs no round trip of its own. A session not remembered is looked up.
pub fn with_reader(
    state: Arc<AppState>,
    role: Role,
) -> impl Filter<Extract = (AuthUser,), Error = warp::Rejection> + Clone {
    caller(state, true).and_then(move |user| require(user, role))
}

/// The caller of the bearer token; a remembered session only if `remembered_will_do`.
fn caller(
    state: Arc<AppState>,
    remembered_will_do: bool,
) -> impl Filter<Extract = (AuthUser,), Error = warp::Rejection> + Clone {
    warp::header::headers_cloned().and_then(move |headers: warp::http::HeaderMap| {
        let state = state.clone();
        async move {
            let token = headers
                .get("authorization")
                .and_then(|h| h.to_str().ok())
                .and_then(bearer_token)
                .ok_or(warp::reject::custom(ApiError::Unauthorized))?;
            let token_hash = token_digest(token);
            let known = remembered_will_do
                .then(|| state.sessions.get(&token_hash))
                .flatten();
            match known {
                Some(user) => Ok(AuthUser::from_session(user, token_hash, true)),
                None => lookup(&state, token_hash)
                    .await
                    .map_err(warp::reject::custom),
            }
        }
    })
}

/// The token of a `Bearer` credential (the scheme name is case-insensitive).
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The bearer token's session as the database has it now (remembered for later reads);
/// 401 when there is none.
pub(crate) async fn lookup(state: &AppState, token_hash: Vec<u8>) -> Result<AuthUser, ApiError> {
    let db = state.db.get().await?;
    let found = sessions::lookup(&db, &token_hash).await?;
    state.sessions.update(&token_hash, found.as_ref());
    let user = found.ok_or(ApiError::Unauthorized)?;
    Ok(AuthUser::from_session(user, token_hash, false))
}

impl AuthUser {
    fn from_session(user: sessions::SessionUser, token_hash: Vec<u8>, remembered: bool) -> Self {
        AuthUser {
            id: user.id,
            role: user.role,
            token_hash,
            zone: user.zone,
            remembered,
        }
    }
}

async fn require(user: AuthUser, role: Role) -> Result<AuthUser, warp::Rejection> {
    if user.role == role.as_str() {
        Ok(user)
    } else {
        Err(warp::reject::custom(ApiError::Forbidden(format!(
            "this endpoint needs the {role} role"
        ))))
    }
}

pub fn new_id() -> Uuid {
    Uuid::new_v4()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_from_the_header() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("abc"), None);
    }

    #[test]
    fn tokens_are_stored_as_digests_only() {
        let (token, digest) = new_token();
        assert!(token.starts_with("hp_"));
        assert_eq!(digest, token_digest(&token));
        assert_eq!(digest.len(), 32);
        assert!(!hex::encode(&digest).contains(&token[3..]));
    }
}
