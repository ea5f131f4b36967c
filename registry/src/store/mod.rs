//! PostgreSQL storage: one schema (`schema_registry` by default) owned by the registry and
//! created at startup, so the registry needs nothing from the application's migrations.
//!
//! Writes from any number of registry instances are serialised by a transaction-scoped
//! advisory lock; reads go straight to the database, except schema-by-id which is cached
//! because an id's schema never changes.

mod cache;
mod error;
mod reads;
mod sql;
mod writes;

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};

use crate::config::{PgSchema, RegistryConfig};

pub use error::StoreError;
pub(crate) use writes::check_off_runtime;
pub use writes::Registered;

use cache::SchemaCache;
use sql::query;

/// How long a request waits for a pooled connection (or a new one) before giving up.
const POOL_TIMEOUT: Duration = Duration::from_secs(10);

/// First half of the advisory lock key ("HPRG"); the second half hashes the PostgreSQL schema
/// name, so registries in different schemas (e.g. parallel tests) do not wait for each other.
const LOCK_CLASS: i32 = 0x4850_5247;

/// A schema as stored under its global id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSchema {
    pub schema_type: String,
    /// The schema string as first registered.
    pub text: String,
}

/// One version of a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectVersion {
    pub version: i32,
    pub id: i32,
    pub schema_type: String,
    pub text: String,
}

/// Handle on the registry's tables; cheap to clone (a pool and a cache behind `Arc`s).
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    pg_schema: PgSchema,
    cache: Arc<SchemaCache>,
}

impl Store {
    /// Builds the pool (every connection's `search_path` is the registry's schema, so the SQL
    /// files name tables unqualified) and creates the schema and tables if missing.
    pub async fn connect(config: &RegistryConfig) -> Result<Self, StoreError> {
        let mut pg = config.database.clone();
        let search_path = format!("-c search_path={}", config.pg_schema);
        let options = match pg.get_options() {
            Some(existing) => format!("{existing} {search_path}"),
            None => search_path,
        };
        pg.options(options);
        if pg.get_application_name().is_none() {
            pg.application_name("healthpipe-registry");
        }
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(POOL_TIMEOUT);
        }
        let manager = Manager::from_config(
            pg,
            healthpipe_storage::pool::tls()?,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(config.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_TIMEOUT))
            .create_timeout(Some(POOL_TIMEOUT))
            .recycle_timeout(Some(POOL_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Pool(e.to_string()))?;
        let store = Self {
            pool,
            pg_schema: config.pg_schema.clone(),
            cache: Arc::new(SchemaCache::default()),
        };
        store.create_tables().await?;
        Ok(store)
    }

    /// The PostgreSQL schema this store writes to.
    pub fn pg_schema(&self) -> &PgSchema {
        &self.pg_schema
    }

    /// Whether the database answers: what `GET /readyz` reports.
    pub async fn ping(&self) -> Result<(), StoreError> {
        query(&self.client().await?, sql::PING, &[]).await?;
        Ok(())
    }

    /// Idempotent DDL, under the write lock so instances starting together do not race on
    /// `CREATE SCHEMA` (which is not safe to run concurrently even with `IF NOT EXISTS`).
    /// The schema is created only when missing: `CREATE SCHEMA IF NOT EXISTS` needs CREATE
    /// on the database even for a schema that exists, which a least-privilege role made
    /// for the registry (`k8s/database-roles.sql`) does not have.
    async fn create_tables(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = begin(&mut client).await?;
        self.lock(&tx).await?;
        let exists = !query(&tx, sql::SCHEMA_EXISTS, &[&self.pg_schema.as_str()])
            .await?
            .is_empty();
        if !exists {
            let create_schema = sql::CREATE_SCHEMA
                .text
                .replace("{schema}", self.pg_schema.as_str());
            let create_schema = sql::Sql {
                name: sql::CREATE_SCHEMA.name,
                text: &create_schema,
            };
            query(&tx, create_schema, &[]).await?;
        }
        for statement in [
            sql::CREATE_SCHEMAS_TABLE,
            sql::CREATE_SUBJECT_VERSIONS_TABLE,
            sql::CREATE_SUBJECT_VERSIONS_INDEX,
            sql::CREATE_CONFIG_TABLE,
        ] {
            query(&tx, statement, &[]).await?;
        }
        commit(tx).await?;
        tracing::info!(pg_schema = %self.pg_schema, "registry tables ready");
        Ok(())
    }

    async fn client(&self) -> Result<Object, StoreError> {
        Ok(self.pool.get().await?)
    }

    /// Takes the write lock for the rest of `tx`.
    async fn lock(&self, tx: &deadpool_postgres::Transaction<'_>) -> Result<(), StoreError> {
        query(tx, sql::LOCK, &[&LOCK_CLASS, &self.pg_schema.as_str()]).await?;
        Ok(())
    }
}

async fn begin(client: &mut Object) -> Result<deadpool_postgres::Transaction<'_>, StoreError> {
    client
        .transaction()
        .await
        .map_err(|e| StoreError::query("begin", e))
}

async fn commit(tx: deadpool_postgres::Transaction<'_>) -> Result<(), StoreError> {
    tx.commit()
        .await
        .map_err(|e| StoreError::query("commit", e))
}
