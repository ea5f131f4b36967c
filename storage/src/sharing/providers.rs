//! Provider accounts: a `users` row with role `provider`, and its organisation, made by an
//! operator (`healthpipe providers add`), never by sign-up.

use deadpool_postgres::GenericClient;
use uuid::Uuid;

use crate::sql::{execute, query_opt};
use crate::{statement, StoreError};

statement!(UPSERT, "providers_upsert");
statement!(ORGANISATION, "providers_organisation");

/// Records `user` as a verified provider of `organisation`.
pub async fn verify(
    client: &impl GenericClient,
    user: Uuid,
    organisation: &str,
) -> Result<(), StoreError> {
    execute(client, UPSERT, &[&user, &organisation]).await?;
    Ok(())
}

/// The organisation of a verified provider; `None` for anyone else.
pub async fn organisation(
    client: &impl GenericClient,
    user: Uuid,
) -> Result<Option<String>, StoreError> {
    Ok(query_opt(client, ORGANISATION, &[&user])
        .await?
        .map(|r| r.get(0)))
}
