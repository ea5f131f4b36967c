//! `healthpipe keys`: the operator's side of the key store.
//!
//! Rotating the key-encryption key: make a new one (`keys new-kek`), list it first in
//! `KEY_ENCRYPTION_KEYS_FILE` (the old one stays listed, second), roll the services, then run
//! `keys rotate`, which re-wraps every data key under the new key-encryption key. The log is
//! not touched: the data keys, and so every sealed event, stay the same. Once `keys rotate`
//! reports nothing left under the old key, remove it from the file.

use anyhow::{Context, Result};
use healthpipe_config::KeySettings;
use healthpipe_crypto::LocalKeyProvider;
use healthpipe_storage::accounts::keys;
use uuid::Uuid;

/// Keys re-wrapped per round trip.
const PAGE: i64 = 500;

#[derive(Debug, Clone, clap::Args)]
pub struct KeysArgs {
    /// The database holding the key store.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true,
          value_parser = healthpipe_config::database_url)]
    pub database_url: String,
    #[command(flatten)]
    pub keys: KeySettings,
}

/// Re-wraps every data key not under the current (first listed) key-encryption key;
/// prints the count per key-encryption key before and after.
pub async fn rotate(args: KeysArgs) -> Result<()> {
    let spec = args.keys.spec().map_err(anyhow::Error::msg)?;
    let provider = LocalKeyProvider::parse(&spec)?;
    let pool = healthpipe_storage::connect(&args.database_url, 1)?;
    let db = pool.get().await.context("connecting to the key store")?;
    println!("before: {}", describe(&keys::count_by_kek(&db).await?));
    let (mut after, mut total) = (Uuid::nil(), 0);
    loop {
        let (rewrapped, last) = keys::rotate_page(&db, &provider, after, PAGE).await?;
        total += rewrapped;
        match last {
            Some(last) => after = last,
            None => break,
        }
    }
    println!(
        "re-wrapped {total} data keys under {:?}",
        healthpipe_crypto::KeyProvider::current_kek(&provider)
    );
    println!("after:  {}", describe(&keys::count_by_kek(&db).await?));
    Ok(())
}

/// Prints a new `id=<64 hex digits>` line for `KEY_ENCRYPTION_KEYS_FILE`.
pub fn new_kek(id: &str) {
    println!("{}", LocalKeyProvider::new_entry(id));
}

fn describe(counts: &[(String, i64)]) -> String {
    if counts.is_empty() {
        return "no data keys".into();
    }
    counts
        .iter()
        .map(|(kek, n)| format!("{n} under {kek:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}
