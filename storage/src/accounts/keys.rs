//! The key store (migration `0010_user_keys`): users' data keys, wrapped. Unwrapping goes
//! through the [`KeyProvider`], so plain data keys exist only in memory, for the unit of
//! work that needs them, and never in a table.

use deadpool_postgres::GenericClient;
use healthpipe_crypto::{DataKey, KeyProvider, Keyring, WrappedKey};
use uuid::Uuid;

use crate::sql::{execute, query};
use crate::{statement, StoreError};

statement!(INSERT, "keys_insert");
statement!(LOAD, "keys_load");
statement!(DELETE, "keys_delete");
statement!(NOT_UNDER, "keys_not_under");
statement!(REWRAP, "keys_rewrap");
statement!(COUNT_BY_KEK, "keys_count_by_kek");
statement!(ACCOUNTS_WITHOUT_KEY, "keys_accounts_without_key");

fn provider_error(e: healthpipe_crypto::ProviderError) -> StoreError {
    StoreError::Keys(e.to_string())
}

/// A new data key for `user`, stored wrapped (within the caller's transaction); an existing
/// key is kept, and the one stored is returned.
pub async fn create(
    client: &impl GenericClient,
    provider: &dyn KeyProvider,
    user: Uuid,
) -> Result<DataKey, StoreError> {
    let key = DataKey::generate();
    let wrapped = provider
        .wrap(&user.to_string(), &key)
        .await
        .map_err(provider_error)?;
    let inserted = execute(client, INSERT, &[&user, &wrapped.kek_id, &wrapped.sealed]).await?;
    if inserted == 1 {
        return Ok(key);
    }
    get(client, provider, user).await?.ok_or_else(|| {
        StoreError::Corrupt("a data key vanished right after a concurrent insert".into())
    })
}

/// The user's data key, if there is one; never made here.
pub async fn get(
    client: &impl GenericClient,
    provider: &dyn KeyProvider,
    user: Uuid,
) -> Result<Option<DataKey>, StoreError> {
    let ring = keyring(client, provider, &[user]).await?;
    Ok(match ring.get(&user.to_string()) {
        healthpipe_crypto::Lookup::Key(key) => Some(key.clone()),
        _ => None,
    })
}

/// The user's data key, created if the account predates encryption. For the gateway only:
/// processors never create keys (a missing key means an erased user).
pub async fn get_or_create(
    client: &impl GenericClient,
    provider: &dyn KeyProvider,
    user: Uuid,
) -> Result<DataKey, StoreError> {
    match get(client, provider, user).await? {
        Some(key) => Ok(key),
        None => create(client, provider, user).await,
    }
}

/// The data keys of `users`, made first for those whose account exists and has none (an
/// account older than encryption); users without an account (erased) stay gone. One
/// transaction; the accounts are held while their keys are made, so an erasure at the same
/// time cannot leave a key behind (see `keys_accounts_without_key.sql`).
pub async fn keyring_creating_missing(
    client: &mut deadpool_postgres::Client,
    provider: &dyn KeyProvider,
    users: &[Uuid],
) -> Result<Keyring, StoreError> {
    let tx = client
        .transaction()
        .await
        .map_err(|e| StoreError::from_postgres("begin", &e))?;
    for row in query(&tx, ACCOUNTS_WITHOUT_KEY, &[&users]).await? {
        create(&tx, provider, row.get(0)).await?;
    }
    let ring = keyring(&tx, provider, users).await?;
    tx.commit()
        .await
        .map_err(|e| StoreError::from_postgres("commit", &e))?;
    Ok(ring)
}

/// The data keys of `users`, unwrapped, with the users that have none marked gone. One
/// query, whatever the number of users.
pub async fn keyring(
    client: &impl GenericClient,
    provider: &dyn KeyProvider,
    users: &[Uuid],
) -> Result<Keyring, StoreError> {
    let mut ring = Keyring::default();
    for user in users {
        ring.insert(user.to_string(), None);
    }
    if users.is_empty() {
        return Ok(ring);
    }
    for row in query(client, LOAD, &[&users]).await? {
        let user: Uuid = row.get(0);
        let wrapped = WrappedKey {
            kek_id: row.get(1),
            sealed: row.get(2),
        };
        let key = provider
            .unwrap(&user.to_string(), &wrapped)
            .await
            .map_err(provider_error)?;
        ring.insert(user.to_string(), Some(key));
    }
    Ok(ring)
}

/// Destroys the user's data key; whether there was one.
pub async fn delete(client: &impl GenericClient, user: Uuid) -> Result<bool, StoreError> {
    Ok(execute(client, DELETE, &[&user]).await? == 1)
}

/// How many data keys each key-encryption key wraps.
pub async fn count_by_kek(client: &impl GenericClient) -> Result<Vec<(String, i64)>, StoreError> {
    let rows = query(client, COUNT_BY_KEK, &[]).await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Re-wraps up to `limit` keys not under the provider's current key-encryption key, after
/// user `after` in user order; returns how many it re-wrapped and the last user it saw
/// (`None` when there were none left). The log is not touched: data keys stay the same.
pub async fn rotate_page(
    client: &impl GenericClient,
    provider: &dyn KeyProvider,
    after: Uuid,
    limit: i64,
) -> Result<(u64, Option<Uuid>), StoreError> {
    let current = provider.current_kek().to_string();
    let rows = query(client, NOT_UNDER, &[&current, &after, &limit]).await?;
    let mut rewrapped = 0;
    let mut last = None;
    for row in rows {
        let user: Uuid = row.get(0);
        let old = WrappedKey {
            kek_id: row.get(1),
            sealed: row.get(2),
        };
        let owner = user.to_string();
        let key = provider
            .unwrap(&owner, &old)
            .await
            .map_err(provider_error)?;
        let new = provider.wrap(&owner, &key).await.map_err(provider_error)?;
        rewrapped += execute(
            client,
            REWRAP,
            &[&user, &old.kek_id, &new.kek_id, &new.sealed],
        )
        .await?;
        last = Some(user);
    }
    Ok((rewrapped, last))
}
