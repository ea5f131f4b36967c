//! The registry's statements: each lives in `sql/*.sql` and runs through the storage
//! layer's one timed wrapper (`healthpipe_storage::sql`), so slow queries show up in the
//! logs and the latency histogram under the statement's file name.

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::StoreError;

pub(crate) use healthpipe_storage::sql::Sql;

healthpipe_storage::statement!(SCHEMA_EXISTS, "schema_exists");
healthpipe_storage::statement!(CREATE_SCHEMA, "create_schema");
healthpipe_storage::statement!(CREATE_SCHEMAS_TABLE, "create_schemas_table");
healthpipe_storage::statement!(
    CREATE_SUBJECT_VERSIONS_TABLE,
    "create_subject_versions_table"
);
healthpipe_storage::statement!(
    CREATE_SUBJECT_VERSIONS_INDEX,
    "create_subject_versions_index"
);
healthpipe_storage::statement!(CREATE_CONFIG_TABLE, "create_config_table");
healthpipe_storage::statement!(LOCK, "lock");
healthpipe_storage::statement!(PING, "ping");
healthpipe_storage::statement!(SCHEMA_BY_ID, "schema_by_id");
healthpipe_storage::statement!(SUBJECTS_OF_SCHEMA, "subjects_of_schema");
healthpipe_storage::statement!(SUBJECTS, "subjects");
healthpipe_storage::statement!(VERSIONS, "versions");
healthpipe_storage::statement!(VERSION, "version");
healthpipe_storage::statement!(LATEST_VERSION, "latest_version");
healthpipe_storage::statement!(ALL_VERSIONS, "all_versions");
healthpipe_storage::statement!(VERSION_BY_FINGERPRINT, "version_by_fingerprint");
healthpipe_storage::statement!(SCHEMA_ID_BY_FINGERPRINT, "schema_id_by_fingerprint");
healthpipe_storage::statement!(INSERT_SCHEMA, "insert_schema");
healthpipe_storage::statement!(INSERT_VERSION, "insert_version");
healthpipe_storage::statement!(GET_CONFIG, "get_config");
healthpipe_storage::statement!(SET_CONFIG, "set_config");

/// Runs one statement through the storage layer's timed wrapper (prepared once per
/// connection, a latency histogram per statement); works on a pooled client and on a
/// transaction alike. These three only turn the storage layer's error into the registry's.
pub(crate) async fn query<C: GenericClient>(
    client: &C,
    sql: Sql<'_>,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, StoreError> {
    Ok(healthpipe_storage::sql::query(client, sql, params).await?)
}

/// [`query`] for statements that yield at most one row.
pub(crate) async fn query_opt<C: GenericClient>(
    client: &C,
    sql: Sql<'_>,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<Row>, StoreError> {
    Ok(healthpipe_storage::sql::query_opt(client, sql, params).await?)
}

/// [`query`] for statements that yield exactly one row (`INSERT ... RETURNING`).
pub(crate) async fn query_one<C: GenericClient>(
    client: &C,
    sql: Sql<'_>,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Row, StoreError> {
    Ok(healthpipe_storage::sql::query_one(client, sql, params).await?)
}
