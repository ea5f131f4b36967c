//! Read queries. Each is a free function over any client (pooled or inside the write
//! transaction) plus, where handlers need it, a `Store` method that borrows a pooled client.

use std::sync::Arc;

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::sql::{self, query, query_opt};
use super::{Store, StoreError, StoredSchema, SubjectVersion};
use crate::compat::CompatibilityLevel;
use crate::subject::{Subject, VersionSpec};

/// The `config` key of the registry-wide level (subjects are never empty).
pub(super) const GLOBAL: &str = "";

impl Store {
    /// The schema with this global id, from the cache when possible.
    pub async fn schema_by_id(&self, id: i32) -> Result<Option<Arc<StoredSchema>>, StoreError> {
        if let Some(hit) = self.cache.get(id) {
            return Ok(Some(hit));
        }
        let client = self.client().await?;
        let Some(row) = query_opt(&client, sql::SCHEMA_BY_ID, &[&id]).await? else {
            return Ok(None);
        };
        let schema = Arc::new(StoredSchema {
            schema_type: row.get(0),
            text: row.get(1),
        });
        self.cache.insert(id, schema.clone());
        Ok(Some(schema))
    }

    /// Every (subject, version) registered with this schema id.
    pub async fn subjects_of_schema(&self, id: i32) -> Result<Vec<(String, i32)>, StoreError> {
        let client = self.client().await?;
        let rows = query(&client, sql::SUBJECTS_OF_SCHEMA, &[&id]).await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// All subjects with at least one version, sorted.
    pub async fn subjects(&self) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let rows = query(&client, sql::SUBJECTS, &[]).await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// The subject's version numbers, ascending; empty when the subject does not exist.
    pub async fn versions(&self, subject: &Subject) -> Result<Vec<i32>, StoreError> {
        let client = self.client().await?;
        let rows = query(&client, sql::VERSIONS, &[&subject.as_str()]).await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// One version of a subject.
    pub async fn version(
        &self,
        subject: &Subject,
        spec: VersionSpec,
    ) -> Result<Option<SubjectVersion>, StoreError> {
        version(&self.client().await?, subject, spec).await
    }

    /// Every version of a subject, oldest first.
    pub async fn history(&self, subject: &Subject) -> Result<Vec<SubjectVersion>, StoreError> {
        history(&self.client().await?, subject).await
    }

    /// The version of `subject` holding the schema with this identity fingerprint.
    pub async fn version_by_fingerprint(
        &self,
        subject: &Subject,
        fingerprint: &[u8],
    ) -> Result<Option<SubjectVersion>, StoreError> {
        version_by_fingerprint(&self.client().await?, subject, fingerprint).await
    }

    /// The level set on the subject (`Some`) or registry-wide (`None`), if any.
    pub async fn level(
        &self,
        subject: Option<&Subject>,
    ) -> Result<Option<CompatibilityLevel>, StoreError> {
        level(
            &self.client().await?,
            subject.map_or(GLOBAL, Subject::as_str),
        )
        .await
    }

    /// The level that applies to `subject`: its own, else the global one, else BACKWARD.
    pub async fn effective_level(
        &self,
        subject: &Subject,
    ) -> Result<CompatibilityLevel, StoreError> {
        effective_level(&self.client().await?, subject).await
    }
}

pub(super) async fn version<C: GenericClient>(
    client: &C,
    subject: &Subject,
    spec: VersionSpec,
) -> Result<Option<SubjectVersion>, StoreError> {
    let row = match spec {
        VersionSpec::Latest => query_opt(client, sql::LATEST_VERSION, &[&subject.as_str()]).await?,
        VersionSpec::Number(v) => query_opt(client, sql::VERSION, &[&subject.as_str(), &v]).await?,
    };
    Ok(row.as_ref().map(subject_version))
}

pub(super) async fn history<C: GenericClient>(
    client: &C,
    subject: &Subject,
) -> Result<Vec<SubjectVersion>, StoreError> {
    let rows = query(client, sql::ALL_VERSIONS, &[&subject.as_str()]).await?;
    Ok(rows.iter().map(subject_version).collect())
}

pub(super) async fn version_by_fingerprint<C: GenericClient>(
    client: &C,
    subject: &Subject,
    fingerprint: &[u8],
) -> Result<Option<SubjectVersion>, StoreError> {
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&subject.as_str(), &fingerprint];
    let row = query_opt(client, sql::VERSION_BY_FINGERPRINT, &params).await?;
    Ok(row.as_ref().map(subject_version))
}

pub(super) async fn level<C: GenericClient>(
    client: &C,
    key: &str,
) -> Result<Option<CompatibilityLevel>, StoreError> {
    let Some(row) = query_opt(client, sql::GET_CONFIG, &[&key]).await? else {
        return Ok(None);
    };
    let text: String = row.get(0);
    CompatibilityLevel::parse(&text)
        .map(Some)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown compatibility level {text:?}")))
}

pub(super) async fn effective_level<C: GenericClient>(
    client: &C,
    subject: &Subject,
) -> Result<CompatibilityLevel, StoreError> {
    if let Some(own) = level(client, subject.as_str()).await? {
        return Ok(own);
    }
    Ok(level(client, GLOBAL)
        .await?
        .unwrap_or(CompatibilityLevel::DEFAULT))
}

/// Maps the (version, schema_id, schema_type, schema_text) rows of the version queries.
fn subject_version(row: &Row) -> SubjectVersion {
    SubjectVersion {
        version: row.get(0),
        id: row.get(1),
        schema_type: row.get(2),
        text: row.get(3),
    }
}
