//! Sealing bytes with AES-256-GCM: `nonce ‖ ciphertext ‖ tag`, the nonce fresh from the OS
//! for every message (a key seals far fewer than 2³² messages, the bound for random nonces),
//! and associated data that binds the ciphertext to where it belongs, so a sealed payload
//! copied into another user's or another event's record fails to open.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::Aes256Gcm;

use crate::DataKey;

pub const NONCE_LEN: usize = 12;
pub const TAG_LEN: usize = 16;

/// What a sealed payload is bound to: its owner and the record it belongs to (for an event,
/// its event id). Opening with any other pair fails.
#[derive(Debug, Clone, Copy)]
pub struct Aad<'a> {
    pub owner: &'a str,
    pub record: &'a str,
}

impl Aad<'_> {
    /// `owner`, a NUL, `record`: unambiguous, as neither may contain NUL (ids are UUIDs).
    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.owner.len() + 1 + self.record.len());
        out.extend_from_slice(self.owner.as_bytes());
        out.push(0);
        out.extend_from_slice(self.record.as_bytes());
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Wrong key, wrong associated data, or bytes changed: indistinguishable by design.
    #[error("the sealed payload does not authenticate (tampered, or sealed with another key or for another record)")]
    Unauthentic,
    #[error("the sealed payload is {0} bytes, shorter than a nonce and a tag")]
    Truncated(usize),
}

/// Seals `plaintext` under `key`, bound to `aad`.
pub fn seal(key: &DataKey, aad: Aad<'_>, plaintext: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new(key.as_key());
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let aad = aad.bytes();
    let ciphertext = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .expect("AES-GCM encrypts any message shorter than 64 GiB");
    let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    out
}

/// Opens what [`seal`] produced with the same key and associated data.
pub fn open(key: &DataKey, aad: Aad<'_>, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(SealError::Truncated(sealed.len()));
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let cipher = Aes256Gcm::new(key.as_key());
    cipher
        .decrypt(
            nonce.into(),
            Payload {
                msg: ciphertext,
                aad: &aad.bytes(),
            },
        )
        .map_err(|_| SealError::Unauthentic)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AAD: Aad<'static> = Aad {
        owner: "user-1",
        record: "event-1",
    };

    #[test]
    fn what_is_sealed_opens_with_the_same_key_and_aad() {
        let key = DataKey::generate();
        let sealed = seal(&key, AAD, b"72 bpm");
        assert_eq!(open(&key, AAD, &sealed).unwrap(), b"72 bpm");
        assert!(
            !sealed.windows(6).any(|w| w == b"72 bpm"),
            "plaintext visible"
        );
    }

    #[test]
    fn every_seal_uses_a_fresh_nonce() {
        let key = DataKey::generate();
        let (a, b) = (seal(&key, AAD, b"x"), seal(&key, AAD, b"x"));
        assert_ne!(a[..NONCE_LEN], b[..NONCE_LEN]);
    }

    #[test]
    fn another_key_another_owner_or_another_record_fails() {
        let key = DataKey::generate();
        let sealed = seal(&key, AAD, b"secret");
        let other = DataKey::generate();
        assert_eq!(open(&other, AAD, &sealed), Err(SealError::Unauthentic));
        for aad in [
            Aad {
                owner: "user-2",
                record: "event-1",
            },
            Aad {
                owner: "user-1",
                record: "event-2",
            },
            // The separator keeps ("user-1", "event-1") apart from ("user-1e", "vent-1").
            Aad {
                owner: "user-1e",
                record: "vent-1",
            },
        ] {
            assert_eq!(open(&key, aad, &sealed), Err(SealError::Unauthentic));
        }
    }

    #[test]
    fn a_changed_byte_anywhere_fails() {
        let key = DataKey::generate();
        let sealed = seal(&key, AAD, b"secret");
        for i in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[i] ^= 1;
            assert_eq!(
                open(&key, AAD, &tampered),
                Err(SealError::Unauthentic),
                "byte {i}"
            );
        }
        assert_eq!(
            open(&key, AAD, &sealed[..10]),
            Err(SealError::Truncated(10))
        );
    }
}
