//! Request and response bodies shared by several routes, in Confluent's field names.

use serde::{Deserialize, Serialize};

use crate::avro::{NewSchema, AVRO};
use crate::error::ApiError;
use crate::store::{StoreError, SubjectVersion};
use crate::subject::Subject;

/// The body of register, lookup and compatibility requests. Fields newer Confluent versions
/// add (`metadata`, `ruleSet`, `id`, `version`...) are ignored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaRequest {
    pub schema: String,
    #[serde(default)]
    pub schema_type: Option<String>,
    #[serde(default)]
    pub references: Option<Vec<serde_json::Value>>,
}

impl SchemaRequest {
    /// Parses the schema on the blocking pool (large schemas are CPU work).
    pub async fn parse(self) -> Result<NewSchema, ApiError> {
        let has_references = self.references.as_ref().is_some_and(|r| !r.is_empty());
        let parsed = tokio::task::spawn_blocking(move || {
            NewSchema::parse(self.schema, self.schema_type.as_deref(), has_references)
        })
        .await
        .map_err(StoreError::from)?;
        Ok(parsed?)
    }
}

/// One version of a subject, as `GET /subjects/{s}/versions/{v}` and lookup return it.
#[derive(Debug, Serialize)]
pub struct VersionBody {
    pub subject: String,
    pub version: i32,
    pub id: i32,
    pub schema: String,
    /// Omitted for AVRO, as Confluent does.
    #[serde(rename = "schemaType", skip_serializing_if = "Option::is_none")]
    pub schema_type: Option<String>,
}

impl VersionBody {
    pub fn new(subject: &Subject, found: SubjectVersion) -> Self {
        Self {
            subject: subject.to_string(),
            version: found.version,
            id: found.id,
            schema_type: non_default_type(&found.schema_type),
            schema: found.text,
        }
    }
}

/// `schemaType` as Confluent serialises it: absent when AVRO.
pub fn non_default_type(schema_type: &str) -> Option<String> {
    (schema_type != AVRO).then(|| schema_type.to_string())
}

/// Decodes a subject from its path segment.
pub fn subject(raw: &str) -> Result<Subject, ApiError> {
    Subject::from_path(raw).map_err(ApiError::InvalidSubject)
}
