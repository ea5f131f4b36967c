//! Where the key-encryption keys come from, shared by every service that seals or opens
//! events (see `healthpipe_crypto`).

/// The key-encryption keys: `id=<64 hex digits>` entries, the first one wrapping new data
/// keys. From a file (a mounted Kubernetes Secret), else inline. Flattened into a service's
/// settings; the text itself is a secret and never shown.
#[derive(Clone, clap::Args)]
pub struct KeySettings {
    /// File of key-encryption keys, one `id=<64 hex digits>` per line, the current one first.
    #[arg(long, env = "KEY_ENCRYPTION_KEYS_FILE")]
    pub key_encryption_keys_file: Option<std::path::PathBuf>,
    /// The same entries inline, comma-separated, when no file is given.
    #[arg(long, env = "KEY_ENCRYPTION_KEYS", hide_env_values = true)]
    pub key_encryption_keys: Option<String>,
}

impl KeySettings {
    /// The entries' text: the file's, else the inline value's.
    pub fn spec(&self) -> Result<String, String> {
        match (&self.key_encryption_keys_file, &self.key_encryption_keys) {
            (Some(path), _) => std::fs::read_to_string(path).map_err(|e| {
                format!(
                    "KEY_ENCRYPTION_KEYS_FILE: cannot read {}: {e}",
                    path.display()
                )
            }),
            (None, Some(inline)) => Ok(inline.clone()),
            (None, None) => Err(
                "KEY_ENCRYPTION_KEYS_FILE (or KEY_ENCRYPTION_KEYS) is required: the key-encryption \
                 keys that wrap the users' data keys (`healthpipe keys new-kek` makes one)"
                    .into(),
            ),
        }
    }
}

impl std::fmt::Debug for KeySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySettings")
            .field("key_encryption_keys_file", &self.key_encryption_keys_file)
            .field(
                "key_encryption_keys",
                &self.key_encryption_keys.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}
