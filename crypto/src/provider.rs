//! Key-encryption keys behind one trait, so a cloud KMS or Vault can stand in for the local
//! provider without the rest of the code noticing.

use std::collections::HashMap;
use std::path::Path;

use async_trait::async_trait;

use crate::seal::{open, seal, Aad};
use crate::{DataKey, WrappedKey};

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The key names a key-encryption key this provider does not have (removed too early,
    /// or a different deployment's).
    #[error("no key-encryption key {0:?} is configured")]
    UnknownKek(String),
    #[error("the wrapped key of {0} does not authenticate under its key-encryption key")]
    Unauthentic(String),
    #[error("key-encryption keys: {0}")]
    Config(String),
}

/// Wraps and unwraps data keys. Implementations keep their key-encryption keys to
/// themselves; the owner of a data key is bound into its wrapping, so a wrapped key moved
/// to another user's row does not unwrap.
#[async_trait]
pub trait KeyProvider: Send + Sync {
    /// The key-encryption key new wrappings use.
    fn current_kek(&self) -> &str;
    async fn wrap(&self, owner: &str, key: &DataKey) -> Result<WrappedKey, ProviderError>;
    async fn unwrap(&self, owner: &str, wrapped: &WrappedKey) -> Result<DataKey, ProviderError>;
}

/// Key-encryption keys from configuration: `id=hex` entries (64 hex digits each),
/// separated by commas or new lines, the first one current. Older entries stay listed
/// until `healthpipe keys rotate` has re-wrapped every key they wrapped.
pub struct LocalKeyProvider {
    current: String,
    keks: HashMap<String, DataKey>,
}

impl LocalKeyProvider {
    pub fn parse(spec: &str) -> Result<Self, ProviderError> {
        let mut current = None;
        let mut keks = HashMap::new();
        for entry in spec
            .split([',', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            if entry.starts_with('#') {
                continue;
            }
            let (id, hex_key) = entry
                .split_once('=')
                .ok_or_else(|| ProviderError::Config("each entry is id=<64 hex digits>".into()))?;
            let id = id.trim();
            if id.is_empty() {
                return Err(ProviderError::Config("an entry has an empty id".into()));
            }
            let mut bytes = [0u8; 32];
            hex::decode_to_slice(hex_key.trim(), &mut bytes).map_err(|_| {
                ProviderError::Config(format!("key {id:?} is not 64 hex digits (256 bits)"))
            })?;
            if keks
                .insert(id.to_string(), DataKey::from_bytes(bytes))
                .is_some()
            {
                return Err(ProviderError::Config(format!(
                    "key id {id:?} is listed twice"
                )));
            }
            current.get_or_insert_with(|| id.to_string());
        }
        let current =
            current.ok_or_else(|| ProviderError::Config("no key-encryption key given".into()))?;
        Ok(Self { current, keks })
    }

    pub fn from_file(path: &Path) -> Result<Self, ProviderError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ProviderError::Config(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text)
    }

    /// A new `id=hex` entry with a fresh random key, for an operator adding a key.
    pub fn new_entry(id: &str) -> String {
        format!("{id}={}", hex::encode(DataKey::generate().bytes()))
    }

    fn kek(&self, id: &str) -> Result<&DataKey, ProviderError> {
        self.keks
            .get(id)
            .ok_or_else(|| ProviderError::UnknownKek(id.to_string()))
    }
}

/// A wrapping is bound to its owner and to the key-encryption key's id.
fn aad<'a>(owner: &'a str, kek_id: &'a str) -> Aad<'a> {
    Aad {
        owner,
        record: kek_id,
    }
}

#[async_trait]
impl KeyProvider for LocalKeyProvider {
    fn current_kek(&self) -> &str {
        &self.current
    }

    async fn wrap(&self, owner: &str, key: &DataKey) -> Result<WrappedKey, ProviderError> {
        let kek = self.kek(&self.current)?;
        Ok(WrappedKey {
            kek_id: self.current.clone(),
            sealed: seal(kek, aad(owner, &self.current), key.bytes()),
        })
    }

    async fn unwrap(&self, owner: &str, wrapped: &WrappedKey) -> Result<DataKey, ProviderError> {
        let kek = self.kek(&wrapped.kek_id)?;
        let bytes = open(kek, aad(owner, &wrapped.kek_id), &wrapped.sealed)
            .map_err(|_| ProviderError::Unauthentic(owner.to_string()))?;
        let bytes: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| ProviderError::Unauthentic(owner.to_string()))?;
        Ok(DataKey::from_bytes(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> String {
        LocalKeyProvider::new_entry(id)
    }

    #[tokio::test]
    async fn a_wrapped_key_unwraps_to_the_same_key_under_an_older_kek_too() {
        let old = LocalKeyProvider::parse(&entry("k1")).unwrap();
        let key = DataKey::generate();
        let wrapped = old.wrap("user-1", &key).await.unwrap();
        assert_eq!(wrapped.kek_id, "k1");
        assert!(!wrapped.sealed.windows(32).any(|w| w == key.bytes()));
        // Rotation: a new current key first, the old one still listed.
        let both = format!("{}\n{}", entry("k2"), old_entry(&old));
        let rotated = LocalKeyProvider::parse(&both).unwrap();
        assert_eq!(rotated.current_kek(), "k2");
        let unwrapped = rotated.unwrap("user-1", &wrapped).await.unwrap();
        assert_eq!(unwrapped.bytes(), key.bytes());
        let rewrapped = rotated.wrap("user-1", &unwrapped).await.unwrap();
        assert_eq!(rewrapped.kek_id, "k2");
    }

    fn old_entry(p: &LocalKeyProvider) -> String {
        format!("k1={}", hex::encode(p.kek("k1").unwrap().bytes()))
    }

    #[tokio::test]
    async fn a_wrapped_key_is_bound_to_its_owner() {
        let p = LocalKeyProvider::parse(&entry("k1")).unwrap();
        let wrapped = p.wrap("user-1", &DataKey::generate()).await.unwrap();
        assert!(matches!(
            p.unwrap("user-2", &wrapped).await,
            Err(ProviderError::Unauthentic(_))
        ));
    }

    #[tokio::test]
    async fn a_key_wrapped_by_an_unlisted_kek_is_reported_by_its_id() {
        let a = LocalKeyProvider::parse(&entry("a")).unwrap();
        let b = LocalKeyProvider::parse(&entry("b")).unwrap();
        let wrapped = a.wrap("u", &DataKey::generate()).await.unwrap();
        let err = b.unwrap("u", &wrapped).await.unwrap_err();
        assert!(
            matches!(&err, ProviderError::UnknownKek(id) if id == "a"),
            "{err}"
        );
    }

    #[test]
    fn bad_specs_say_what_is_wrong_without_quoting_key_material() {
        for (spec, says) in [
            ("", "no key-encryption key"),
            ("k1", "id=<64 hex digits>"),
            ("k1=abcd", "not 64 hex digits"),
            (&format!("{0},{0}", entry("k1")), "listed twice"),
        ] {
            let err = LocalKeyProvider::parse(spec).err().unwrap().to_string();
            assert!(err.contains(says), "{spec:?}: {err}");
        }
        let spec = format!("# comment\n{}\n\n", entry("k1"));
        assert_eq!(LocalKeyProvider::parse(&spec).unwrap().current_kek(), "k1");
    }
}
