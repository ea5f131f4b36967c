//! JWE in compact serialisation with direct encryption (RFC 7516; `alg: dir`, `enc: A256GCM`
//! from RFC 7518 §4.5 and §5.3), the form SMART Health Links carry their files in. Assembled
//! from RustCrypto's `aes-gcm` exactly as the RFCs say: the protected header, an empty
//! encrypted key, a fresh 96-bit IV, the ciphertext and the 128-bit tag, each base64url
//! without padding; the associated data is the ASCII of the encoded protected header.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use zeroize::Zeroizing;

use crate::seal::{NONCE_LEN, TAG_LEN};

/// A content key: 256 bits from the OS's random source, wiped from memory when dropped.
pub struct JweKey(Zeroizing<[u8; 32]>);

impl JweKey {
    pub fn generate() -> JweKey {
        let key = Aes256Gcm::generate_key(OsRng);
        JweKey(Zeroizing::new(key.into()))
    }

    /// The key as a SMART Health Link states it: base64url, 43 characters.
    pub fn to_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(*self.0)
    }

    /// A key in that form; `None` for anything else.
    pub fn from_text(text: &str) -> Option<JweKey> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let key: [u8; 32] = bytes.try_into().ok()?;
        Some(JweKey(Zeroizing::new(key)))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&*self.0))
    }
}

/// Why a compact JWE does not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JweError {
    #[error("not five base64url parts with an empty encrypted key")]
    Malformed,
    #[error("not `alg: dir`, `enc: A256GCM`")]
    Unsupported,
    #[error("does not authenticate under this key")]
    Unauthentic,
}

/// `plaintext` encrypted under `key` as a compact JWE whose content type is
/// `content_type` (one of ours, e.g. `application/fhir+json`: it is written as given).
pub fn encrypt(key: &JweKey, content_type: &'static str, plaintext: &[u8]) -> String {
    let header = format!(r#"{{"alg":"dir","enc":"A256GCM","cty":"{content_type}"}}"#);
    let protected = URL_SAFE_NO_PAD.encode(header);
    let iv = Aes256Gcm::generate_nonce(&mut OsRng);
    let sealed = key
        .cipher()
        .encrypt(
            &iv,
            Payload {
                msg: plaintext,
                aad: protected.as_bytes(),
            },
        )
        .expect("AES-GCM encrypts any message shorter than 64 GiB");
    let (ciphertext, tag) = sealed.split_at(sealed.len() - TAG_LEN);
    format!(
        "{protected}..{}.{}.{}",
        URL_SAFE_NO_PAD.encode(iv),
        URL_SAFE_NO_PAD.encode(ciphertext),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

/// Opens what [`encrypt`] (or any `dir`/`A256GCM` producer) made under `key`.
pub fn decrypt(key: &JweKey, compact: &str) -> Result<Vec<u8>, JweError> {
    let parts: Vec<&str> = compact.split('.').collect();
    let [protected, "", iv, ciphertext, tag] = parts.as_slice() else {
        return Err(JweError::Malformed);
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| JweError::Malformed)
    };
    let header = decode(protected)?;
    let header = std::str::from_utf8(&header).map_err(|_| JweError::Malformed)?;
    if !header.contains(r#""alg":"dir""#) || !header.contains(r#""enc":"A256GCM""#) {
        return Err(JweError::Unsupported);
    }
    let iv = decode(iv)?;
    if iv.len() != NONCE_LEN {
        return Err(JweError::Malformed);
    }
    let mut sealed = decode(ciphertext)?;
    sealed.extend(decode(tag)?);
    key.cipher()
        .decrypt(
            Nonce::from_slice(&iv),
            Payload {
                msg: &sealed,
                aad: protected.as_bytes(),
            },
        )
        .map_err(|_| JweError::Unauthentic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_encrypted_opens_with_its_key_only() {
        let key = JweKey::generate();
        let jwe = encrypt(
            &key,
            "application/fhir+json",
            b"{\"resourceType\":\"Bundle\"}",
        );
        assert_eq!(jwe.split('.').count(), 5);
        assert_eq!(jwe.split('.').nth(1), Some(""), "dir: no encrypted key");
        assert_eq!(
            decrypt(&key, &jwe).unwrap(),
            b"{\"resourceType\":\"Bundle\"}".to_vec()
        );
        assert_eq!(
            decrypt(&JweKey::generate(), &jwe),
            Err(JweError::Unauthentic)
        );
    }

    #[test]
    fn a_changed_header_or_body_does_not_open() {
        let key = JweKey::generate();
        let jwe = encrypt(&key, "application/fhir+json", b"data");
        let mut parts: Vec<String> = jwe.split('.').map(str::to_string).collect();
        parts[0] = URL_SAFE_NO_PAD.encode(r#"{"alg":"dir","enc":"A256GCM","cty":"text/plain"}"#);
        assert_eq!(decrypt(&key, &parts.join(".")), Err(JweError::Unauthentic));
        assert_eq!(decrypt(&key, "a.b.c"), Err(JweError::Malformed));
    }

    #[test]
    fn a_key_is_43_characters_and_reads_back() {
        let key = JweKey::generate();
        let text = key.to_text();
        assert_eq!(text.len(), 43);
        let again = JweKey::from_text(&text).unwrap();
        let jwe = encrypt(&key, "application/fhir+json", b"x");
        assert_eq!(decrypt(&again, &jwe).unwrap(), b"x".to_vec());
        assert!(JweKey::from_text("too short").is_none());
    }
}
