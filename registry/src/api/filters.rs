//! The building blocks every route is made of: shared state, bounded JSON bodies with
//! Confluent's content types, and query flags.

use std::collections::HashMap;
use std::convert::Infallible;

use serde::de::DeserializeOwned;
use warp::{Filter, Rejection};

use crate::error::ApiError;
use crate::store::Store;

/// Largest request body accepted. Schemas are a few kB; generated ones with many nested
/// records reach a few hundred, so this leaves ample room while bounding memory per request.
pub const MAX_BODY_BYTES: u64 = 4 * 1024 * 1024;

/// Request content types Confluent's REST layer accepts (absent is accepted too).
const ACCEPTED_CONTENT_TYPES: [&str; 4] = [
    "application/vnd.schemaregistry.v1+json",
    "application/vnd.schemaregistry+json",
    "application/json",
    "application/octet-stream",
];

/// Hands each handler a clone of the store.
pub fn with_store(store: Store) -> impl Filter<Extract = (Store,), Error = Infallible> + Clone {
    warp::any().map(move || store.clone())
}

/// A JSON body of type `T`, size-limited and content-type-checked. Failures reject with an
/// [`ApiError`] so the recover step answers with Confluent's error body.
pub fn with_json_body<T: DeserializeOwned + Send>(
) -> impl Filter<Extract = (T,), Error = Rejection> + Clone {
    warp::body::content_length_limit(MAX_BODY_BYTES)
        .and(warp::header::optional::<String>("content-type"))
        .and_then(|content_type: Option<String>| async move {
            check_content_type(content_type.as_deref()).map_err(warp::reject::custom)
        })
        .untuple_one()
        .and(warp::body::bytes())
        .and_then(|body: bytes::Bytes| async move {
            decode_json::<T>(&body).map_err(warp::reject::custom)
        })
}

/// The query string as a map; unknown parameters (`deleted`, `format`, `fetchMaxId`...) are
/// simply never looked at.
pub fn with_query() -> impl Filter<Extract = (HashMap<String, String>,), Error = Rejection> + Clone
{
    warp::query::<HashMap<String, String>>()
}

/// Whether a boolean query flag is set (`?verbose=true`, `?defaultToGlobal=TRUE`).
pub fn flag(query: &HashMap<String, String>, name: &str) -> bool {
    query
        .get(name)
        .is_some_and(|value| value.eq_ignore_ascii_case("true"))
}

fn check_content_type(content_type: Option<&str>) -> Result<(), ApiError> {
    let Some(content_type) = content_type else {
        return Ok(());
    };
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if ACCEPTED_CONTENT_TYPES
        .iter()
        .any(|accepted| accepted.eq_ignore_ascii_case(essence))
    {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "content type {content_type:?} is not one of {}",
            ACCEPTED_CONTENT_TYPES.join(", ")
        )))
    }
}

/// Syntax errors are the client's malformed JSON (400); well-formed JSON of the wrong shape is
/// unprocessable (422), as Confluent's REST layer answers.
fn decode_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|error| match error.classify() {
        serde_json::error::Category::Data => ApiError::UnprocessableBody(error.to_string()),
        _ => ApiError::MalformedJson(error.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_match_on_essence_and_case() {
        assert!(check_content_type(None).is_ok());
        assert!(check_content_type(Some("application/json; charset=utf-8")).is_ok());
        assert!(check_content_type(Some("Application/VND.schemaregistry.v1+json")).is_ok());
        assert!(check_content_type(Some("text/plain")).is_err());
    }

    #[test]
    fn json_errors_are_classified() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Body {
            schema: String,
        }
        assert!(matches!(
            decode_json::<Body>(b"{"),
            Err(ApiError::MalformedJson(_))
        ));
        assert!(matches!(
            decode_json::<Body>(b"{}"),
            Err(ApiError::UnprocessableBody(_))
        ));
        assert!(decode_json::<Body>(br#"{"schema":"x","extra":1}"#).is_ok());
    }
}
