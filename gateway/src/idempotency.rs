//! Idempotency of the appending endpoints (sync, sample deletion). A client that never saw the
//! answer to a request retries it with the same key and gets the stored answer, and nothing is
//! appended twice.
//!
//! The key is the `Idempotency-Key` header (or `X-Idempotency-Key`), else one derived from the
//! request itself (see [`key_hash`]). Keys are scoped per user and stored only as SHA-256
//! digests, next to a digest of the request (method, path, body), in `idempotency_keys`:
//!
//! - [`claim`] inserts the row `in_flight` (`INSERT … ON CONFLICT DO NOTHING`) before anything
//!   is produced. If the key is taken: another body is a 422, a claim still in flight a 409,
//!   and a completed one is replayed byte for byte.
//! - The owner then settles its [`Ticket`]: [`Ticket::complete`] stores the final answer (a 200,
//!   or the 422 of a sync where no sample was valid), [`Ticket::release`] deletes the claim
//!   after a failure that appended nothing, so a retry can proceed.
//! - Rows older than [`KEY_TTL`] count as absent; each claim purges a bounded batch of them.
//!   The rows themselves are read and written by `healthpipe_storage::accounts::idempotency`.
//!   An `in_flight` claim older than its lease (its owner died before settling) may be taken
//!   over by a retry of the same request.

use std::time::Duration;

use bytes::Bytes;
use healthpipe_storage::accounts::idempotency::{
    self, Claim as StoreClaim, Holder, HolderState, Key, Lifetimes,
};
use healthpipe_storage::Pool;
use sha2::{Digest, Sha256};
use uuid::Uuid;
use warp::http::{HeaderMap, HeaderValue, StatusCode};
use warp::reply::Response;

use crate::error::ApiError;

/// How long a key is remembered.
pub const KEY_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Longest key a client may send.
pub const MAX_KEY_LEN: usize = 255;
/// Header names of the key, preferred first.
pub const KEY_HEADERS: [&str; 2] = ["idempotency-key", "x-idempotency-key"];
/// Set on an answer that was stored by an earlier request with the same key.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// The digest a key is stored under: the client's key if it sent one (`Idempotency-Key` wins
/// over `X-Idempotency-Key`; each one sent must be 1 to [`MAX_KEY_LEN`] visible ASCII
/// characters, else 400), else the key `derived`, built by the endpoint from what identifies
/// the request (for a sync: device and body digest).
pub fn key_hash(
    headers: &HeaderMap,
    derived: impl FnOnce() -> String,
) -> Result<Vec<u8>, ApiError> {
    let mut chosen = None;
    for name in KEY_HEADERS {
        let Some(value) = headers.get(name) else {
            continue;
        };
        let key = value
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN)
            .filter(|k| k.bytes().all(|b| b.is_ascii_graphic() || b == b' '))
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "{name}: 1 to {MAX_KEY_LEN} visible ASCII characters"
                ))
            })?;
        chosen.get_or_insert(key);
    }
    Ok(match chosen {
        Some(key) => sha256(&[key.as_bytes()]),
        None => sha256(&[derived().as_bytes()]),
    })
}

/// What a request is, for telling a retry from a different request under the same key:
/// SHA-256 of `"<METHOD> <path>\n"` followed by the body.
pub fn request_hash(method: &str, path: &str, body: &[u8]) -> Vec<u8> {
    sha256(&[method.as_bytes(), b" ", path.as_bytes(), b"\n", body])
}

/// Lower-case hex SHA-256 of `body`, for derived keys.
pub fn body_digest(body: &[u8]) -> String {
    hex::encode(sha256(&[body]))
}

fn sha256(parts: &[&[u8]]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().to_vec()
}

/// The outcome of a claim.
pub enum Claim {
    /// This request holds the key: produce, then settle the ticket.
    Owned(Ticket),
    /// An earlier request with this key and body was answered: its answer.
    Replay(StoredResponse),
}

/// A final answer as stored.
pub struct StoredResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

impl StoredResponse {
    pub fn into_response(self) -> Response {
        let mut response = Response::new(self.body.into());
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
        response
    }
}

/// A held claim. Settle it with `complete` or `release`; one left unsettled (the process died)
/// blocks retries only until its lease runs out.
pub struct Ticket {
    db: Pool,
    key: Key,
    claim_id: Uuid,
}

/// Claims `key_hash` for `user_id` and the request `request_hash`. `lease`: after how long an
/// unsettled claim of the same request may be taken over.
pub async fn claim(
    db: &Pool,
    user_id: Uuid,
    key_hash: Vec<u8>,
    request_hash: Vec<u8>,
    lease: Duration,
) -> Result<Claim, ApiError> {
    let key = Key { user_id, key_hash };
    let lifetimes = Lifetimes {
        ttl: KEY_TTL,
        lease,
    };
    let client = db.get().await?;
    match idempotency::claim(&client, &key, &request_hash, lifetimes).await? {
        StoreClaim::Owned(claim_id) => Ok(Claim::Owned(Ticket {
            db: db.clone(),
            key,
            claim_id,
        })),
        StoreClaim::Held(holder) if holder.request_hash != request_hash => {
            Err(ApiError::Unprocessable(
                "Idempotency-Key: already used for a different request; use a new key".into(),
            ))
        }
        StoreClaim::Held(Holder {
            state: HolderState::InFlight,
            ..
        }) => Err(ApiError::Conflict(
            "Idempotency-Key: a request with this key is still being processed; retry later".into(),
        )),
        StoreClaim::Held(Holder {
            state: HolderState::Completed { status, body },
            ..
        }) => Ok(Claim::Replay(StoredResponse { status, body })),
        StoreClaim::Contended => Err(ApiError::Conflict(
            "Idempotency-Key: the key is being claimed concurrently; retry".into(),
        )),
    }
}

impl Ticket {
    /// Stores the final answer. If that fails the answer is still given (what it reports is
    /// durable); the claim then stays in flight until its lease runs out.
    pub async fn complete(self, status: StatusCode, body: &Bytes) {
        let result = async {
            let client = self.db.get().await?;
            idempotency::complete(&client, &self.key, self.claim_id, status.as_u16(), body).await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not store the answer of an idempotent request");
        }
    }

    /// Gives the key back after a failure that appended nothing.
    pub async fn release(self) {
        let result = async {
            let client = self.db.get().await?;
            idempotency::release(&client, &self.key, self.claim_id).await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not release an idempotency claim");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn the_header_key_wins_over_the_derived_one_and_both_names_count() {
        let derived = || "derived".to_string();
        let a = key_hash(&headers(&[("idempotency-key", "k1")]), derived).unwrap();
        let b = key_hash(&headers(&[("x-idempotency-key", "k1")]), derived).unwrap();
        let c = key_hash(&headers(&[]), derived).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, sha256(&[b"k1"]));
        assert_eq!(c, sha256(&[b"derived"]));
        let both = key_hash(
            &headers(&[("idempotency-key", "k1"), ("x-idempotency-key", "k2")]),
            derived,
        )
        .unwrap();
        assert_eq!(both, a);
        let one_bad = key_hash(
            &headers(&[("idempotency-key", "k1"), ("x-idempotency-key", " ")]),
            derived,
        );
        assert!(one_bad.is_err());
    }

    #[test]
    fn bad_keys_are_refused() {
        let long = "k".repeat(MAX_KEY_LEN + 1);
        for bad in ["", "   ", long.as_str()] {
            let e = key_hash(&headers(&[("idempotency-key", bad)]), String::new);
            assert!(matches!(e, Err(ApiError::BadRequest(_))), "{bad:?}");
        }
        let mut map = HeaderMap::new();
        map.insert(
            "idempotency-key",
            HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
        );
        assert!(key_hash(&map, String::new).is_err());
    }

    #[test]
    fn the_request_hash_covers_method_path_and_body() {
        let base = request_hash("POST", "/a", b"{}");
        assert_ne!(base, request_hash("DELETE", "/a", b"{}"));
        assert_ne!(base, request_hash("POST", "/b", b"{}"));
        assert_ne!(base, request_hash("POST", "/a", b"{ }"));
        assert_eq!(base, request_hash("POST", "/a", b"{}"));
    }
}
