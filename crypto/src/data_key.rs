//! A user's data key, and the form in which it is stored.

use aes_gcm::aead::{KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key};
use zeroize::Zeroizing;

/// 256 bits from the OS's random source. Wiped from memory when dropped; never printed.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    pub fn generate() -> Self {
        let key = Aes256Gcm::generate_key(OsRng);
        Self(Zeroizing::new(key.into()))
    }

    pub(crate) fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    pub(crate) fn as_key(&self) -> &Key<Aes256Gcm> {
        (&*self.0).into()
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

/// A data key sealed under a key-encryption key, as the key store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// Which key-encryption key wrapped it (so rotation knows what to re-wrap).
    pub kek_id: String,
    /// `nonce ‖ ciphertext ‖ tag` of the 32 key bytes.
    pub sealed: Vec<u8>,
}
