//! `/subjects/...` reads: listing subjects and fetching versions.

use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::Filter;

use super::bodies::{subject, VersionBody};
use super::filters::with_store;
use super::reply::{respond, respond_raw};
use crate::error::ApiError;
use crate::store::{Store, SubjectVersion};
use crate::subject::{Subject, VersionSpec};

/// `GET /subjects`, `/subjects/{s}/versions`, `/subjects/{s}/versions/{v}` and `.../schema`.
pub fn routes(store: Store) -> BoxedFilter<(Response,)> {
    let list = warp::path!("subjects")
        .and(warp::get())
        .and(with_store(store.clone()))
        .then(list_subjects)
        .map(respond);
    let versions = warp::path!("subjects" / String / "versions")
        .and(warp::get())
        .and(with_store(store.clone()))
        .then(list_versions)
        .map(respond);
    let version = warp::path!("subjects" / String / "versions" / String)
        .and(warp::get())
        .and(with_store(store.clone()))
        .then(get_version)
        .map(respond);
    let raw = warp::path!("subjects" / String / "versions" / String / "schema")
        .and(warp::get())
        .and(with_store(store))
        .then(get_raw_schema)
        .map(respond_raw);
    list.or(versions)
        .unify()
        .or(version)
        .unify()
        .or(raw)
        .unify()
        .boxed()
}

async fn list_subjects(store: Store) -> Result<Vec<String>, ApiError> {
    Ok(store.subjects().await?)
}

async fn list_versions(raw_subject: String, store: Store) -> Result<Vec<i32>, ApiError> {
    let subject = subject(&raw_subject)?;
    let versions = store.versions(&subject).await?;
    if versions.is_empty() {
        return Err(ApiError::SubjectNotFound(subject));
    }
    Ok(versions)
}

async fn get_version(
    raw_subject: String,
    raw_version: String,
    store: Store,
) -> Result<VersionBody, ApiError> {
    let subject = subject(&raw_subject)?;
    let spec = VersionSpec::parse(&raw_version).map_err(ApiError::InvalidVersion)?;
    let found = find_version(&store, &subject, spec).await?;
    Ok(VersionBody::new(&subject, found))
}

async fn get_raw_schema(
    raw_subject: String,
    raw_version: String,
    store: Store,
) -> Result<String, ApiError> {
    let subject = subject(&raw_subject)?;
    let spec = VersionSpec::parse(&raw_version).map_err(ApiError::InvalidVersion)?;
    Ok(find_version(&store, &subject, spec).await?.text)
}

/// A version, or Confluent's distinction between an unknown subject (40401) and an unknown
/// version of a known one (40402).
pub(super) async fn find_version(
    store: &Store,
    subject: &Subject,
    spec: VersionSpec,
) -> Result<SubjectVersion, ApiError> {
    if let Some(found) = store.version(subject, spec).await? {
        return Ok(found);
    }
    match spec {
        VersionSpec::Number(v) if !store.versions(subject).await?.is_empty() => {
            Err(ApiError::VersionNotFound(v))
        }
        _ => Err(ApiError::SubjectNotFound(subject.clone())),
    }
}
