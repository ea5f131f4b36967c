//! SQL migrations: the files in `migrations/`, applied in name order, each in its own
//! transaction and recorded in `schema_migrations`, so running `healthpipe migrate` twice is
//! safe. An advisory lock keeps two migrating processes from racing.

use anyhow::{Context, Result};
use tokio_postgres::NoTls;

/// The migrations, embedded so the binary carries its schema.
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_accounts",
        include_str!("../migrations/0001_accounts.sql"),
    ),
    (
        "0002_projections",
        include_str!("../migrations/0002_projections.sql"),
    ),
    (
        "0003_licensed_features",
        include_str!("../migrations/0003_licensed_features.sql"),
    ),
    (
        "0004_aggregate_coverage",
        include_str!("../migrations/0004_aggregate_coverage.sql"),
    ),
    (
        "0005_idempotency",
        include_str!("../migrations/0005_idempotency.sql"),
    ),
    (
        "0006_insights",
        include_str!("../migrations/0006_insights.sql"),
    ),
    (
        "0007_fewer_indexes",
        include_str!("../migrations/0007_fewer_indexes.sql"),
    ),
];

const LOCK_KEY: i64 = 0x6865_616c_7468; // "health"

/// Applies every migration not applied yet; returns the names applied now.
pub async fn run(database_url: &str) -> Result<Vec<&'static str>> {
    let (mut client, connection) = tokio_postgres::connect(database_url, NoTls)
        .await
        .context("connecting to DATABASE_URL")?;
    tokio::spawn(connection);
    client
        .batch_execute(
            "CREATE EXTENSION IF NOT EXISTS timescaledb; \
             CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .context("preparing the migrations table (is TimescaleDB installed?)")?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY])
        .await?;
    let mut applied = Vec::new();
    for (name, sql) in MIGRATIONS {
        let tx = client.transaction().await?;
        let done = tx
            .query_opt("SELECT 1 FROM schema_migrations WHERE name = $1", &[name])
            .await?
            .is_some();
        if !done {
            tx.batch_execute(sql)
                .await
                .with_context(|| format!("migration {name}"))?;
            tx.execute("INSERT INTO schema_migrations (name) VALUES ($1)", &[name])
                .await?;
            applied.push(*name);
        }
        tx.commit().await?;
    }
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await?;
    Ok(applied)
}
