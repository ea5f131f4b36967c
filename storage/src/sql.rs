//! The one way SQL reaches PostgreSQL: a named statement from a `.sql` file, prepared once
//! per connection (`prepare_cached`), timed into a histogram labelled with its name, logged
//! at debug with its duration, and its failure classified (see [`crate::error`]).
//!
//! A module declares its statements with [`statement!`]; the name is the file stem, so the
//! metric, the log line and the file tell the same story.

use std::pin::Pin;
use std::sync::LazyLock;
use std::time::Instant;

use deadpool_postgres::{GenericClient, Transaction};
use prometheus::{register_histogram_vec, HistogramVec};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Row;

use crate::StoreError;

/// Seconds per statement, from prepare to the last row: the buckets reach from a cached
/// point read (~0.2 ms) to a recompute of a long history (seconds).
static STATEMENT_SECONDS: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "healthpipe_sql_statement_duration_seconds",
        "Time to run one SQL statement (prepare, execute, fetch), by statement file.",
        &["statement"],
        vec![0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0]
    )
    .expect("metric registers once")
});

/// A named SQL statement; the name is the file stem and labels logs and metrics. Almost
/// always `'static` (from [`statement!`]); the registry fills its schema's name in at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sql<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

/// Declares `const NAME: Sql` from `sql/<file>.sql` beside the invoking module.
#[macro_export]
macro_rules! statement {
    ($(#[$doc:meta])* $const_name:ident, $file:literal) => {
        $(#[$doc])*
        pub(crate) const $const_name: $crate::sql::Sql<'static> = $crate::sql::Sql {
            name: $file,
            text: include_str!(concat!("sql/", $file, ".sql")),
        };
    };
}

/// Records a statement's duration and logs it; classifies its failure.
pub(crate) fn observe<T>(
    sql: Sql<'_>,
    started: Instant,
    result: Result<T, tokio_postgres::Error>,
    rows: impl FnOnce(&T) -> u64,
) -> Result<T, StoreError> {
    let elapsed = started.elapsed();
    STATEMENT_SECONDS
        .with_label_values(&[sql.name])
        .observe(elapsed.as_secs_f64());
    let elapsed_ms = elapsed.as_secs_f64() * 1000.0;
    match result {
        Ok(value) => {
            tracing::debug!(statement = sql.name, rows = rows(&value), elapsed_ms, "sql");
            Ok(value)
        }
        Err(source) => {
            let error = StoreError::from_postgres(sql.name, &source);
            tracing::warn!(statement = sql.name, %error, elapsed_ms, "sql failed");
            Err(error)
        }
    }
}

/// Runs a statement and returns its rows (none for statements without a result set).
pub async fn query<C: GenericClient>(
    client: &C,
    sql: Sql<'_>,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, StoreError> {
    let started = Instant::now();
    let result = async {
        let statement = client.prepare_cached(sql.text).await?;
        client.query(&statement, params).await
    }
    .await;
    observe(sql, started, result, |rows| rows.len() as u64)
}

/// [`query`] for statements that yield at most one row.
pub async fn query_opt<C: GenericClient>(
    client: &C,
    sql: Sql<'_>,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<Row>, StoreError> {
    Ok(query(client, sql, params).await?.into_iter().next())
}

/// [`query`] for statements that yield exactly one row (`INSERT ... RETURNING`).
pub async fn query_one<C: GenericClient>(
    client: &C,
    sql: Sql<'_>,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Row, StoreError> {
    query_opt(client, sql, params)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("{} returned no row", sql.name)))
}

/// Runs a statement and returns the number of rows it changed.
pub async fn execute<C: GenericClient>(
    client: &C,
    sql: Sql<'_>,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, StoreError> {
    let started = Instant::now();
    let result = async {
        let statement = client.prepare_cached(sql.text).await?;
        client.execute(&statement, params).await
    }
    .await;
    observe(sql, started, result, |n| *n)
}

/// A binary `COPY ... FROM STDIN` in progress: rows are streamed with [`CopyIn::write`] and
/// the whole copy is timed as one statement when [`CopyIn::finish`] returns.
pub struct CopyIn {
    sql: Sql<'static>,
    started: Instant,
    writer: Pin<Box<BinaryCopyInWriter>>,
}

/// Starts a binary COPY of rows of `types` inside `tx`.
pub async fn copy_in(
    tx: &Transaction<'_>,
    sql: Sql<'static>,
    types: &[Type],
) -> Result<CopyIn, StoreError> {
    let started = Instant::now();
    let sink = tx
        .copy_in(sql.text)
        .await
        .map_err(|e| StoreError::from_postgres(sql.name, &e))?;
    Ok(CopyIn {
        sql,
        started,
        writer: Box::pin(BinaryCopyInWriter::new(sink, types)),
    })
}

impl CopyIn {
    /// Writes one row; the values follow the statement's column list.
    pub async fn write(&mut self, row: &[&(dyn ToSql + Sync)]) -> Result<(), StoreError> {
        let sql = self.sql;
        self.writer
            .as_mut()
            .write(row)
            .await
            .map_err(|e| StoreError::from_postgres(sql.name, &e))
    }

    /// Ends the copy; returns the number of rows copied.
    pub async fn finish(mut self) -> Result<u64, StoreError> {
        let result = self.writer.as_mut().finish().await;
        observe(self.sql, self.started, result, |n| *n)
    }
}
