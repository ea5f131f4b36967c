//! Provider accounts are made by an operator, never by sign-up: `healthpipe providers add
//! --email … --name … --organisation …` creates the account (role `provider`) with a
//! password shown once, or verifies an existing provider account again with its
//! organisation. Only a verified provider redeems share codes and reads shared data.

use argon2::password_hash::PasswordHasher;
use argon2::Argon2;
use healthpipe_domain::Role;
use healthpipe_storage::accounts::users::{self, NewAccount, Registration, User};
use healthpipe_storage::sharing::providers;
use healthpipe_storage::{Pool, StoreError};
use uuid::Uuid;

use crate::accounts::{check_email, check_text};
use crate::error::ApiError;

/// Who to add.
#[derive(Debug, Clone)]
pub struct NewProvider {
    pub email: String,
    pub name: String,
    pub organisation: String,
}

/// The account, and its password when it was made now (shown once, stored only hashed).
#[derive(Debug)]
pub struct Added {
    pub id: Uuid,
    pub password: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0} belongs to a user account: a provider needs an account of its own")]
    UserAccount(String),
    #[error("password hashing: {0}")]
    Hashing(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Adds (or verifies again) the provider account of `p.email`.
pub async fn add(db: &Pool, p: &NewProvider) -> Result<Added, ProviderError> {
    let invalid = |e: ApiError| ProviderError::Invalid(e.to_string());
    let email = check_email("--email", &p.email).map_err(invalid)?;
    let name = check_text("--name", &p.name).map_err(invalid)?;
    let organisation = check_text("--organisation", &p.organisation).map_err(invalid)?;
    let mut client = db.get().await.map_err(StoreError::from)?;
    if let Some((id, _)) = users::credentials(&client, &email).await? {
        let existing = users::find(&client, id).await?;
        if existing.is_none_or(|u| u.role != Role::Provider.as_str()) {
            return Err(ProviderError::UserAccount(email));
        }
        providers::verify(&client, id, &organisation).await?;
        return Ok(Added { id, password: None });
    }
    let password = new_password();
    let hash = hash(password.clone()).await?;
    let user = User {
        id: Uuid::new_v4(),
        email: email.clone(),
        name,
        timezone: "UTC".into(),
        role: Role::Provider.as_str().into(),
    };
    let tx = client
        .transaction()
        .await
        .map_err(|e| StoreError::from_postgres("begin", &e))?;
    let account = NewAccount {
        user: &user,
        password_hash: &hash,
    };
    if users::insert(&tx, &account).await? == Registration::EmailTaken {
        return Err(ProviderError::Invalid(format!(
            "{email} was taken meanwhile; run the command again"
        )));
    }
    providers::verify(&tx, user.id, &organisation).await?;
    tx.commit()
        .await
        .map_err(|e| StoreError::from_postgres("commit", &e))?;
    Ok(Added {
        id: user.id,
        password: Some(password),
    })
}

/// 120 bits from the OS's random source, as 24 base-32 characters.
fn new_password() -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz23456789!";
    let bytes: [u8; 24] = crate::auth::os_random();
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
        .collect()
}

async fn hash(password: String) -> Result<String, ProviderError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes(), &crate::auth::new_salt())
            .map(|h| h.to_string())
            .map_err(|e| ProviderError::Hashing(e.to_string()))
    })
    .await
    .map_err(|e| ProviderError::Hashing(e.to_string()))?
}
