//! `POST /subjects/{s}/versions` (register) and `POST /subjects/{s}` (lookup): what producers
//! call before their first message. On a read-only listener, registering answers only for a
//! schema the subject already has (see [`Access::ReadOnly`]).

use serde::Serialize;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::Filter;

use super::bodies::{subject, SchemaRequest, VersionBody};
use super::filters::{with_json_body, with_store};
use super::reply::respond;
use super::Access;
use crate::error::ApiError;
use crate::store::{Registered, Store};

pub fn routes(store: Store, access: Access) -> BoxedFilter<(Response,)> {
    let register = warp::path!("subjects" / String / "versions")
        .and(warp::post())
        .and(with_json_body())
        .and(with_store(store.clone()))
        .then(move |raw_subject, request, store| register(raw_subject, request, store, access))
        .map(respond);
    let lookup = warp::path!("subjects" / String)
        .and(warp::post())
        .and(with_json_body())
        .and(with_store(store))
        .then(lookup)
        .map(respond);
    register.or(lookup).unify().boxed()
}

#[derive(Debug, Serialize)]
struct IdBody {
    id: i32,
}

async fn register(
    raw_subject: String,
    request: SchemaRequest,
    store: Store,
    access: Access,
) -> Result<IdBody, ApiError> {
    let subject = subject(&raw_subject)?;
    let new = request.parse().await?;
    if access == Access::ReadOnly {
        // What `Store::register` answers for a known schema, without its write path.
        return match store
            .version_by_fingerprint(&subject, &new.fingerprint)
            .await?
        {
            Some(found) => Ok(IdBody { id: found.id }),
            None => Err(ApiError::ReadOnlyListener(
                "registering a new schema version",
            )),
        };
    }
    match store.register(&subject, new).await? {
        Registered::Existing { id, .. } | Registered::New { id, .. } => Ok(IdBody { id }),
        Registered::Incompatible(messages) => Err(ApiError::Incompatible { subject, messages }),
    }
}

async fn lookup(
    raw_subject: String,
    request: SchemaRequest,
    store: Store,
) -> Result<VersionBody, ApiError> {
    let subject = subject(&raw_subject)?;
    let new = request.parse().await?;
    if let Some(found) = store
        .version_by_fingerprint(&subject, &new.fingerprint)
        .await?
    {
        return Ok(VersionBody::new(&subject, found));
    }
    if store.versions(&subject).await?.is_empty() {
        Err(ApiError::SubjectNotFound(subject))
    } else {
        Err(ApiError::SchemaNotFound)
    }
}
