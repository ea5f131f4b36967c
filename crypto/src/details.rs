//! Sealing the free text stored with a sample (its source app and metadata) in PostgreSQL.
//!
//! Projections are a pure function of the log: a replay must write the same bytes, so these
//! are sealed deterministically, with AES-256-GCM-SIV (RFC 8452, nonce-misuse resistant)
//! and a nonce derived from the associated data (user and sample id): the same sample always
//! seals to the same bytes, and equal bytes reveal only that the same sample was stored
//! twice, which its id says anyway.

use aes_gcm_siv::aead::{Aead, KeyInit, Payload};
use aes_gcm_siv::{Aes256GcmSiv, Nonce};
use sha2::{Digest, Sha256};

use crate::seal::{Aad, SealError};
use crate::DataKey;

/// Seals `plaintext` under `key`, bound to `aad`, the same way every time.
pub fn seal_details(key: &DataKey, aad: Aad<'_>, plaintext: &[u8]) -> Vec<u8> {
    let aad = aad_bytes(aad);
    let cipher = Aes256GcmSiv::new(key.as_key().as_slice().into());
    cipher
        .encrypt(
            &nonce(&aad),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .expect("AES-GCM-SIV encrypts any message shorter than 64 GiB")
}

/// Opens what [`seal_details`] produced with the same key and associated data.
pub fn open_details(key: &DataKey, aad: Aad<'_>, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    let aad = aad_bytes(aad);
    let cipher = Aes256GcmSiv::new(key.as_key().as_slice().into());
    cipher
        .decrypt(
            &nonce(&aad),
            Payload {
                msg: sealed,
                aad: &aad,
            },
        )
        .map_err(|_| SealError::Unauthentic)
}

fn aad_bytes(aad: Aad<'_>) -> Vec<u8> {
    let mut out = b"healthpipe/details\0".to_vec();
    out.extend_from_slice(aad.owner.as_bytes());
    out.push(0);
    out.extend_from_slice(aad.record.as_bytes());
    out
}

fn nonce(aad: &[u8]) -> Nonce {
    let digest = Sha256::digest(aad);
    *Nonce::from_slice(&digest[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    const AAD: Aad<'static> = Aad {
        owner: "user-1",
        record: "sample-1",
    };

    #[test]
    fn the_same_details_seal_to_the_same_bytes_and_open() {
        let key = DataKey::generate();
        let sealed = seal_details(&key, AAD, b"com.example.app");
        assert_eq!(sealed, seal_details(&key, AAD, b"com.example.app"));
        assert_eq!(
            open_details(&key, AAD, &sealed).unwrap(),
            b"com.example.app"
        );
        assert!(!sealed.windows(7).any(|w| w == b"example"));
    }

    #[test]
    fn another_sample_or_key_gives_other_bytes_and_does_not_open() {
        let key = DataKey::generate();
        let sealed = seal_details(&key, AAD, b"x");
        let other = Aad {
            owner: "user-1",
            record: "sample-2",
        };
        assert_ne!(sealed, seal_details(&key, other, b"x"));
        assert_eq!(
            open_details(&key, other, &sealed),
            Err(SealError::Unauthentic)
        );
        assert_eq!(
            open_details(&DataKey::generate(), AAD, &sealed),
            Err(SealError::Unauthentic)
        );
    }
}
