//! The write paths. Each runs in one transaction that first takes the advisory lock, so ids
//! and versions stay dense and unique however many registry instances share the database.

use super::reads::{self, GLOBAL};
use super::sql::{self, query, query_one, query_opt};
use super::{begin, commit, Store, StoreError, SubjectVersion};
use crate::avro::{self, NewSchema};
use crate::compat::{self, CompatibilityLevel, Previous};
use crate::subject::{Subject, VersionSpec};

/// What registering a schema under a subject did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    /// The subject already had this schema; nothing was written.
    Existing { id: i32, version: i32 },
    /// A new version was written (with a new id, or the id another subject already uses).
    New { id: i32, version: i32 },
    /// The schema breaks the subject's compatibility level; one message per violation.
    Incompatible(Vec<String>),
}

impl Store {
    /// Registers `new` under `subject` unless incompatible. Confluent's order: an already
    /// registered schema returns its id without a compatibility check.
    pub async fn register(
        &self,
        subject: &Subject,
        new: NewSchema,
    ) -> Result<Registered, StoreError> {
        // Lock-free fast path: producers re-register the same schema on every start.
        if let Some(found) = self
            .version_by_fingerprint(subject, &new.fingerprint)
            .await?
        {
            return Ok(existing(found));
        }
        let mut client = self.client().await?;
        let tx = begin(&mut client).await?;
        self.lock(&tx).await?;
        if let Some(found) = reads::version_by_fingerprint(&tx, subject, &new.fingerprint).await? {
            return Ok(existing(found));
        }
        let level = reads::effective_level(&tx, subject).await?;
        let previous = match level {
            CompatibilityLevel::None => Vec::new(),
            level if level.is_transitive() => reads::history(&tx, subject).await?,
            _ => reads::version(&tx, subject, VersionSpec::Latest)
                .await?
                .into_iter()
                .collect(),
        };
        let (new, messages) = check_off_runtime(level, new, previous).await?;
        if !messages.is_empty() {
            return Ok(Registered::Incompatible(messages));
        }
        let reused = query_opt(&tx, sql::SCHEMA_ID_BY_FINGERPRINT, &[&new.fingerprint]).await?;
        let id: i32 = match reused {
            Some(row) => row.get(0),
            None => query_one(
                &tx,
                sql::INSERT_SCHEMA,
                &[
                    &avro::AVRO,
                    &new.fingerprint,
                    &new.normalized,
                    &new.canonical,
                    &new.text,
                ],
            )
            .await?
            .get(0),
        };
        let version: i32 = query_one(&tx, sql::INSERT_VERSION, &[&subject.as_str(), &id])
            .await?
            .get(0);
        commit(tx).await?;
        tracing::info!(%subject, id, version, "schema registered");
        Ok(Registered::New { id, version })
    }

    /// Sets the level of a subject (`Some`) or the registry-wide default (`None`).
    pub async fn set_level(
        &self,
        subject: Option<&Subject>,
        level: CompatibilityLevel,
    ) -> Result<(), StoreError> {
        let key = subject.map_or(GLOBAL, Subject::as_str);
        let mut client = self.client().await?;
        let tx = begin(&mut client).await?;
        self.lock(&tx).await?;
        query(&tx, sql::SET_CONFIG, &[&key, &level.as_str()]).await?;
        commit(tx).await?;
        tracing::info!(subject = key, %level, "compatibility level set");
        Ok(())
    }
}

fn existing(found: SubjectVersion) -> Registered {
    Registered::Existing {
        id: found.id,
        version: found.version,
    }
}

/// Parses the stored versions and runs the check on the blocking pool: Avro parsing and
/// resolution of large schemas is CPU work the async runtime should not wait on.
pub(crate) async fn check_off_runtime(
    level: CompatibilityLevel,
    new: NewSchema,
    previous: Vec<SubjectVersion>,
) -> Result<(NewSchema, Vec<String>), StoreError> {
    tokio::task::spawn_blocking(move || {
        let previous = previous
            .into_iter()
            .map(|stored| {
                let schema = avro::parse_stored(&stored.text).map_err(|e| {
                    StoreError::Corrupt(format!("stored schema {} unparsable: {e}", stored.id))
                })?;
                Ok(Previous {
                    version: stored.version,
                    schema,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let messages = compat::check(level, &new.schema, &previous);
        Ok((new, messages))
    })
    .await?
}
