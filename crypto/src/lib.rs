//! Encryption of health data: one data key per user, kept only wrapped by a key-encryption
//! key (KEK), and AES-256-GCM for everything sealed with it.
//!
//! An immutable log cannot forget one user's records, but it can make them unreadable:
//! every event about a user is sealed with that user's data key, and erasing the user
//! destroys the key ("crypto-shredding"). The KEK never leaves its [`KeyProvider`]; the
//! database holds only wrapped data keys, each naming the KEK that wrapped it, so the KEK
//! can be rotated without touching the log.
//!
//! Every primitive is RustCrypto's `aes-gcm` (AES-256-GCM with a fresh 96-bit random nonce
//! per message, from the OS's random source). Nothing here is home-made cryptography: this
//! crate only decides what is sealed with which key and which associated data. [`jwe`]
//! assembles the compact JWE of SMART Health Links from the same primitive.

mod data_key;
mod details;
pub mod jwe;
mod keyring;
mod provider;
mod seal;

pub use data_key::{DataKey, WrappedKey};
pub use details::{open_details, seal_details};
pub use keyring::{Keyring, Lookup};
pub use provider::{KeyProvider, LocalKeyProvider, ProviderError};
pub use seal::{open, seal, Aad, SealError, NONCE_LEN, TAG_LEN};
