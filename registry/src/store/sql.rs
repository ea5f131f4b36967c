//! The one way the registry talks to PostgreSQL: every statement lives in `sql/*.sql`, is
//! prepared once per connection (`prepare_cached`) and timed here, so slow queries show up in
//! the logs under the statement's file name.

use std::time::Instant;

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::StoreError;

/// A named SQL statement; the name is the file stem and appears in logs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sql<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

macro_rules! sql_file {
    ($const_name:ident, $file:literal) => {
        pub(crate) const $const_name: Sql<'static> = Sql {
            name: $file,
            text: include_str!(concat!("sql/", $file, ".sql")),
        };
    };
}

sql_file!(CREATE_SCHEMA, "create_schema");
sql_file!(CREATE_SCHEMAS_TABLE, "create_schemas_table");
sql_file!(
    CREATE_SUBJECT_VERSIONS_TABLE,
    "create_subject_versions_table"
);
sql_file!(
    CREATE_SUBJECT_VERSIONS_INDEX,
    "create_subject_versions_index"
);
sql_file!(CREATE_CONFIG_TABLE, "create_config_table");
sql_file!(LOCK, "lock");
sql_file!(SCHEMA_BY_ID, "schema_by_id");
sql_file!(SUBJECTS_OF_SCHEMA, "subjects_of_schema");
sql_file!(SUBJECTS, "subjects");
sql_file!(VERSIONS, "versions");
sql_file!(VERSION, "version");
sql_file!(LATEST_VERSION, "latest_version");
sql_file!(ALL_VERSIONS, "all_versions");
sql_file!(VERSION_BY_FINGERPRINT, "version_by_fingerprint");
sql_file!(SCHEMA_ID_BY_FINGERPRINT, "schema_id_by_fingerprint");
sql_file!(INSERT_SCHEMA, "insert_schema");
sql_file!(INSERT_VERSION, "insert_version");
sql_file!(GET_CONFIG, "get_config");
sql_file!(SET_CONFIG, "set_config");

/// Prepares (cached per connection), runs and times one statement. Works on a pooled client
/// and on a transaction alike; statements without a result set return no rows.
pub(crate) async fn query<C: GenericClient>(
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
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    match &result {
        Ok(rows) => tracing::debug!(query = sql.name, rows = rows.len(), elapsed_ms, "sql"),
        Err(error) => tracing::warn!(query = sql.name, %error, elapsed_ms, "sql failed"),
    }
    result.map_err(|source| StoreError::query(sql.name, source))
}

/// [`query`] for statements that yield at most one row.
pub(crate) async fn query_opt<C: GenericClient>(
    client: &C,
    sql: Sql<'_>,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<Row>, StoreError> {
    Ok(query(client, sql, params).await?.into_iter().next())
}

/// [`query`] for statements that yield exactly one row (`INSERT ... RETURNING`).
pub(crate) async fn query_one<C: GenericClient>(
    client: &C,
    sql: Sql<'_>,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Row, StoreError> {
    query_opt(client, sql, params)
        .await?
        .ok_or(StoreError::Corrupt(format!("{} returned no row", sql.name)))
}
