//! Accounts: one row per user, keyed by id, with a unique lower-cased email.

use deadpool_postgres::GenericClient;
use serde::Serialize;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::sql::{execute, query_opt};
use crate::{statement, StoreError};

statement!(INSERT, "users_insert");
statement!(FIND, "users_find");
statement!(ID_BY_EMAIL, "users_id_by_email");
statement!(PASSWORD_HASH, "users_password_hash");
statement!(DELETE, "users_delete");
statement!(CREDENTIALS, "users_credentials");
statement!(UPDATE_PROFILE, "users_update_profile");

/// A user as the profile shows it. Serialises with the column names, which are also the API's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: Uuid,
    /// Lower-cased.
    pub email: String,
    pub name: String,
    /// The IANA name the user chose.
    pub timezone: String,
    /// `user` or `provider`.
    pub role: String,
}

/// What a sign-up stores: the profile and the password's Argon2id hash (never the password).
#[derive(Debug)]
pub struct NewAccount<'a> {
    pub user: &'a User,
    pub password_hash: &'a str,
}

/// The outcome of [`insert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    Created,
    /// Another account has this email; nothing was written.
    EmailTaken,
}

/// Inserts a new account, or reports its email taken.
pub async fn insert(
    client: &impl GenericClient,
    account: &NewAccount<'_>,
) -> Result<Registration, StoreError> {
    let u = account.user;
    let row = query_opt(
        client,
        INSERT,
        &[
            &u.id,
            &u.email,
            &account.password_hash,
            &u.name,
            &u.timezone,
            &u.role,
        ],
    )
    .await?;
    Ok(match row {
        Some(_) => Registration::Created,
        None => Registration::EmailTaken,
    })
}

/// The user `id`, if the account exists.
pub async fn find(client: &impl GenericClient, id: Uuid) -> Result<Option<User>, StoreError> {
    Ok(query_opt(client, FIND, &[&id]).await?.as_ref().map(user))
}

/// The id of the account with `email` (lower-cased).
pub async fn id_by_email(
    client: &impl GenericClient,
    email: &str,
) -> Result<Option<Uuid>, StoreError> {
    Ok(query_opt(client, ID_BY_EMAIL, &[&email])
        .await?
        .map(|r| r.get(0)))
}

/// The id and password hash of the account with `email` (lower-cased), for signing in.
pub async fn credentials(
    client: &impl GenericClient,
    email: &str,
) -> Result<Option<(Uuid, String)>, StoreError> {
    Ok(query_opt(client, CREDENTIALS, &[&email])
        .await?
        .map(|r| (r.get(0), r.get(1))))
}

/// The password hash of the account `id`, to confirm a destructive request.
pub async fn password_hash(
    client: &impl GenericClient,
    id: Uuid,
) -> Result<Option<String>, StoreError> {
    Ok(query_opt(client, PASSWORD_HASH, &[&id])
        .await?
        .map(|r| r.get(0)))
}

/// Deletes the account with its sessions, devices, idempotency records and pending outbox
/// events; whether it existed.
pub async fn delete(client: &impl GenericClient, id: Uuid) -> Result<bool, StoreError> {
    Ok(execute(client, DELETE, &[&id]).await? == 1)
}

/// Sets the user's name and time zone.
pub async fn update_profile(
    client: &impl GenericClient,
    id: Uuid,
    name: &str,
    timezone: &str,
) -> Result<(), StoreError> {
    execute(client, UPDATE_PROFILE, &[&id, &name, &timezone]).await?;
    Ok(())
}

fn user(row: &Row) -> User {
    User {
        id: row.get(0),
        email: row.get(1),
        name: row.get(2),
        timezone: row.get(3),
        role: row.get(4),
    }
}
