//! `/config` and `/config/{s}`: compatibility levels, registry-wide and per subject.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::Filter;

use super::bodies::subject;
use super::filters::{flag, with_json_body, with_query, with_store};
use super::reply::respond;
use super::Access;
use crate::compat::CompatibilityLevel;
use crate::error::ApiError;
use crate::store::Store;

/// The GETs everywhere; the PUTs only where `access` lets clients write, refused with 405
/// before the body is read elsewhere.
pub fn routes(store: Store, access: Access) -> BoxedFilter<(Response,)> {
    let get_global = warp::path!("config")
        .and(warp::get())
        .and(with_store(store.clone()))
        .then(get_global)
        .map(respond);
    let put_global = warp::path!("config")
        .and(warp::put())
        .and(writable(access))
        .and(with_json_body())
        .and(with_store(store.clone()))
        .then(put_global)
        .map(respond);
    let get_subject = warp::path!("config" / String)
        .and(warp::get())
        .and(with_query())
        .and(with_store(store.clone()))
        .then(get_subject)
        .map(respond);
    let put_subject = warp::path!("config" / String)
        .and(warp::put())
        .and(writable(access))
        .and(with_json_body())
        .and(with_store(store))
        .then(put_subject)
        .map(respond);
    get_global
        .or(put_global)
        .unify()
        .or(get_subject)
        .unify()
        .or(put_subject)
        .unify()
        .boxed()
}

/// Passes on a read-write listener; rejects with [`ApiError::ReadOnlyListener`] otherwise.
fn writable(access: Access) -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    warp::any()
        .and_then(move || async move {
            match access {
                Access::ReadWrite => Ok(()),
                Access::ReadOnly => Err(warp::reject::custom(ApiError::ReadOnlyListener(
                    "changing a compatibility level",
                ))),
            }
        })
        .untuple_one()
}

/// What `GET` answers.
#[derive(Debug, Serialize)]
struct LevelBody {
    #[serde(rename = "compatibilityLevel")]
    level: &'static str,
}

/// What `PUT` takes and echoes; older clients spell the field `compatibilityLevel`.
#[derive(Debug, Serialize, Deserialize)]
struct UpdateBody {
    #[serde(alias = "compatibilityLevel")]
    compatibility: String,
}

async fn get_global(store: Store) -> Result<LevelBody, ApiError> {
    let level = store
        .level(None)
        .await?
        .unwrap_or(CompatibilityLevel::DEFAULT);
    Ok(LevelBody {
        level: level.as_str(),
    })
}

async fn put_global(request: UpdateBody, store: Store) -> Result<UpdateBody, ApiError> {
    let level = parse_level(&request.compatibility)?;
    store.set_level(None, level).await?;
    Ok(UpdateBody {
        compatibility: level.as_str().to_string(),
    })
}

/// 40408 when the subject has no level of its own, unless `?defaultToGlobal=true`.
async fn get_subject(
    raw_subject: String,
    query: HashMap<String, String>,
    store: Store,
) -> Result<LevelBody, ApiError> {
    let subject = subject(&raw_subject)?;
    let level = match store.level(Some(&subject)).await? {
        Some(own) => own,
        None if flag(&query, "defaultToGlobal") => store
            .level(None)
            .await?
            .unwrap_or(CompatibilityLevel::DEFAULT),
        None => return Err(ApiError::SubjectConfigNotFound(subject)),
    };
    Ok(LevelBody {
        level: level.as_str(),
    })
}

async fn put_subject(
    raw_subject: String,
    request: UpdateBody,
    store: Store,
) -> Result<UpdateBody, ApiError> {
    let subject = subject(&raw_subject)?;
    let level = parse_level(&request.compatibility)?;
    store.set_level(Some(&subject), level).await?;
    Ok(UpdateBody {
        compatibility: level.as_str().to_string(),
    })
}

fn parse_level(text: &str) -> Result<CompatibilityLevel, ApiError> {
    CompatibilityLevel::parse(text).ok_or_else(|| ApiError::InvalidCompatibilityLevel(text.into()))
}
