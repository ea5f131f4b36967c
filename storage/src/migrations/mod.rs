//! The schema: the files in `migrations/` at the repository's root, embedded so the binary
//! carries its schema, applied in name order, each in its own transaction and recorded in
//! `schema_migrations`, so running them twice is safe. An advisory lock keeps two migrating
//! processes from racing.

use crate::sql::{execute, query_opt};
use crate::{statement, StoreError};

statement!(PREPARE, "migrations_prepare");
statement!(LOCK, "migrations_lock");
statement!(UNLOCK, "migrations_unlock");
statement!(APPLIED, "migrations_applied");
statement!(RECORD, "migrations_record");

macro_rules! migration {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../../../migrations/", $name, ".sql")),
        )
    };
}

/// Every migration, in the order they apply.
pub const MIGRATIONS: &[(&str, &str)] = &[
    migration!("0001_accounts"),
    migration!("0002_projections"),
    migration!("0003_licensed_features"),
    migration!("0004_aggregate_coverage"),
    migration!("0005_idempotency"),
    migration!("0006_insights"),
    migration!("0007_fewer_indexes"),
    migration!("0008_login_failures"),
    migration!("0009_event_outbox"),
    migration!("0010_user_keys"),
    migration!("0011_topic_reads"),
    migration!("0012_sample_details"),
    migration!("0013_sharing"),
    migration!("0014_retention"),
    migration!("0015_archive"),
    migration!("0016_replay"),
    migration!("0017_imports"),
    migration!("0018_day_partials"),
    migration!("0019_bucket_zones"),
    migration!("0020_replay_swap_views_first"),
];

const LOCK_KEY: i64 = 0x6865_616c_7468; // "health"

/// Applies every migration not applied yet; returns the names applied now.
pub async fn run(database_url: &str) -> Result<Vec<&'static str>, StoreError> {
    let pool = crate::connect(database_url, 1)?;
    let mut client = pool.get().await?;
    client
        .batch_execute(PREPARE.text)
        .await
        .map_err(|e| StoreError::from_postgres(PREPARE.name, &e))?;
    execute(&client, LOCK, &[&LOCK_KEY]).await?;
    let mut applied = Vec::new();
    for (name, script) in MIGRATIONS {
        let tx = client
            .transaction()
            .await
            .map_err(|e| StoreError::from_postgres("begin", &e))?;
        if query_opt(&tx, APPLIED, &[name]).await?.is_none() {
            tx.batch_execute(script)
                .await
                .map_err(|e| StoreError::from_postgres(name, &e))?;
            execute(&tx, RECORD, &[name]).await?;
            applied.push(*name);
        }
        tx.commit()
            .await
            .map_err(|e| StoreError::from_postgres("commit", &e))?;
    }
    execute(&client, UNLOCK, &[&LOCK_KEY]).await?;
    Ok(applied)
}
