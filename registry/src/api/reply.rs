//! Successful and failed responses, all in Confluent's content type.

use serde::Serialize;
use warp::http::header::{HeaderValue, CONTENT_TYPE};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Reply;

use crate::error::ApiError;

/// The content type Confluent serves on every response, errors included.
pub const CONTENT_TYPE_V1: &str = "application/vnd.schemaregistry.v1+json";

/// `body` as JSON with `status`.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => raw(status, bytes),
        Err(error) => {
            tracing::error!(%error, "response body not serialisable");
            raw(
                StatusCode::INTERNAL_SERVER_ERROR,
                br#"{"error_code":500,"message":"Internal Server Error"}"#.to_vec(),
            )
        }
    }
}

/// Bytes that already are JSON (a stored schema string).
pub fn raw(status: StatusCode, body: impl Into<Vec<u8>>) -> Response {
    let mut response = body.into().into_response();
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_V1));
    response
}

/// A handler's outcome as a response: 200 with the JSON body, or the error's status and body.
pub fn respond<T: Serialize>(result: Result<T, ApiError>) -> Response {
    match result {
        Ok(body) => json(StatusCode::OK, &body),
        Err(error) => error.to_response(),
    }
}

/// Like [`respond`] for handlers that return a stored schema string as the whole body.
pub fn respond_raw(result: Result<String, ApiError>) -> Response {
    match result {
        Ok(text) => raw(StatusCode::OK, text),
        Err(error) => error.to_response(),
    }
}
