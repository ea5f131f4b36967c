//! `/schemas/...`: what consumers call to resolve the id in a message's header.

use serde::Serialize;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::Filter;

use super::bodies::non_default_type;
use super::filters::with_store;
use super::reply::{respond, respond_raw};
use crate::avro::AVRO;
use crate::error::ApiError;
use crate::store::Store;

/// `GET /schemas/ids/{id}`, `.../schema`, `.../versions` and `GET /schemas/types`.
pub fn routes(store: Store) -> BoxedFilter<(Response,)> {
    let by_id = warp::path!("schemas" / "ids" / i32)
        .and(warp::get())
        .and(with_store(store.clone()))
        .then(schema_by_id)
        .map(respond);
    let raw = warp::path!("schemas" / "ids" / i32 / "schema")
        .and(warp::get())
        .and(with_store(store.clone()))
        .then(raw_schema_by_id)
        .map(respond_raw);
    let versions = warp::path!("schemas" / "ids" / i32 / "versions")
        .and(warp::get())
        .and(with_store(store))
        .then(versions_of_id)
        .map(respond);
    let types = warp::path!("schemas" / "types")
        .and(warp::get())
        .map(|| respond(Ok([AVRO])));
    by_id
        .or(raw)
        .unify()
        .or(versions)
        .unify()
        .or(types)
        .unify()
        .boxed()
}

#[derive(Debug, Serialize)]
struct SchemaBody {
    schema: String,
    #[serde(rename = "schemaType", skip_serializing_if = "Option::is_none")]
    schema_type: Option<String>,
}

#[derive(Debug, Serialize)]
struct SubjectVersionRef {
    subject: String,
    version: i32,
}

async fn schema_by_id(id: i32, store: Store) -> Result<SchemaBody, ApiError> {
    let found = store
        .schema_by_id(id)
        .await?
        .ok_or(ApiError::SchemaIdNotFound(id))?;
    Ok(SchemaBody {
        schema: found.text.clone(),
        schema_type: non_default_type(&found.schema_type),
    })
}

async fn raw_schema_by_id(id: i32, store: Store) -> Result<String, ApiError> {
    let found = store
        .schema_by_id(id)
        .await?
        .ok_or(ApiError::SchemaIdNotFound(id))?;
    Ok(found.text.clone())
}

async fn versions_of_id(id: i32, store: Store) -> Result<Vec<SubjectVersionRef>, ApiError> {
    let refs = store.subjects_of_schema(id).await?;
    if refs.is_empty() && store.schema_by_id(id).await?.is_none() {
        return Err(ApiError::SchemaIdNotFound(id));
    }
    Ok(refs
        .into_iter()
        .map(|(subject, version)| SubjectVersionRef { subject, version })
        .collect())
}
