//! `POST /compatibility/subjects/{s}/versions[/{v}]`: "would this schema be accepted?", asked
//! by CI pipelines and the Maven/Gradle plugins before deploying a producer.

use std::collections::HashMap;

use serde::Serialize;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::Filter;

use super::bodies::{subject, SchemaRequest};
use super::filters::{flag, with_json_body, with_query, with_store};
use super::reply::respond;
use super::subjects::find_version;
use crate::compat::CompatibilityLevel;
use crate::error::ApiError;
use crate::store::{check_off_runtime, Store};
use crate::subject::VersionSpec;

pub fn routes(store: Store) -> BoxedFilter<(Response,)> {
    let one = warp::path!("compatibility" / "subjects" / String / "versions" / String)
        .and(warp::post())
        .and(with_query())
        .and(with_json_body())
        .and(with_store(store.clone()))
        .then(against_version)
        .map(respond);
    let all = warp::path!("compatibility" / "subjects" / String / "versions")
        .and(warp::post())
        .and(with_query())
        .and(with_json_body())
        .and(with_store(store))
        .then(against_level)
        .map(respond);
    one.or(all).unify().boxed()
}

#[derive(Debug, Serialize)]
struct CompatibilityBody {
    is_compatible: bool,
    /// Present with `?verbose=true` only, as in Confluent.
    #[serde(skip_serializing_if = "Option::is_none")]
    messages: Option<Vec<String>>,
}

impl CompatibilityBody {
    fn new(messages: Vec<String>, verbose: bool) -> Self {
        Self {
            is_compatible: messages.is_empty(),
            messages: verbose.then_some(messages),
        }
    }
}

/// Checks against one version, in the direction(s) of the subject's level. An unknown subject
/// is 40401 (Confluent's answer, even for `latest`), an unknown version 40402.
async fn against_version(
    raw_subject: String,
    raw_version: String,
    query: HashMap<String, String>,
    request: SchemaRequest,
    store: Store,
) -> Result<CompatibilityBody, ApiError> {
    let subject = subject(&raw_subject)?;
    let spec = VersionSpec::parse(&raw_version).map_err(ApiError::InvalidVersion)?;
    let new = request.parse().await?;
    let old = find_version(&store, &subject, spec).await?;
    let level = store.effective_level(&subject).await?;
    let (_, messages) = check_off_runtime(level, new, vec![old]).await?;
    Ok(CompatibilityBody::new(messages, flag(&query, "verbose")))
}

/// Checks against what registration would check: the latest version, or all of them for a
/// transitive level. A subject without versions accepts anything.
async fn against_level(
    raw_subject: String,
    query: HashMap<String, String>,
    request: SchemaRequest,
    store: Store,
) -> Result<CompatibilityBody, ApiError> {
    let subject = subject(&raw_subject)?;
    let new = request.parse().await?;
    let level = store.effective_level(&subject).await?;
    let previous = match level {
        CompatibilityLevel::None => Vec::new(),
        level if level.is_transitive() => store.history(&subject).await?,
        _ => store
            .version(&subject, VersionSpec::Latest)
            .await?
            .into_iter()
            .collect(),
    };
    let (_, messages) = check_off_runtime(level, new, previous).await?;
    Ok(CompatibilityBody::new(messages, flag(&query, "verbose")))
}
