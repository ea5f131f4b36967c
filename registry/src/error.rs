//! The registry's errors at its two boundaries, and the one place they become HTTP responses.
//!
//! Codes follow Confluent's (`error_code` in the body): clients branch on them, e.g. the Java
//! serializer treats 40401/40403 on lookup as "register it", so they must match exactly.

use std::net::SocketAddr;

use serde::Serialize;
use warp::http::StatusCode;

use crate::avro::SchemaError;
use crate::store::StoreError;
use crate::subject::Subject;

/// Everything a request can fail with. Closed on purpose: a new failure needs a code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Unknown path or method; newer clients probe optional endpoints and expect exactly this.
    #[error("HTTP 404 Not Found")]
    NotFound,
    #[error("Subject '{0}' not found.")]
    SubjectNotFound(Subject),
    #[error("Version {0} not found.")]
    VersionNotFound(i32),
    #[error("Schema {0} not found")]
    SchemaIdNotFound(i32),
    #[error("Schema not found")]
    SchemaNotFound,
    #[error("Subject '{0}' does not have subject-level compatibility configured")]
    SubjectConfigNotFound(Subject),
    #[error(
        "Schema being registered is incompatible with an earlier schema for subject \"{subject}\", \
         details: [{}]", messages.join("; ")
    )]
    Incompatible {
        subject: Subject,
        messages: Vec<String>,
    },
    #[error("{0}")]
    InvalidSchema(#[from] SchemaError),
    #[error("{0}")]
    InvalidVersion(String),
    #[error(
        "Invalid compatibility level {0:?}. Valid values are none, backward, forward, full, \
         backward_transitive, forward_transitive, and full_transitive"
    )]
    InvalidCompatibilityLevel(String),
    #[error("{0}")]
    InvalidSubject(String),
    /// Well-formed JSON of the wrong shape (missing `schema`, a number where a string goes...).
    #[error("Unprocessable request body: {0}")]
    UnprocessableBody(String),
    #[error("Malformed JSON in request body: {0}")]
    MalformedJson(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("HTTP 411 Length Required: send a Content-Length header")]
    LengthRequired,
    #[error("HTTP 413 Payload Too Large: the body exceeds {0} bytes")]
    PayloadTooLarge(u64),
    #[error("HTTP 415 Unsupported Media Type: {0}")]
    UnsupportedMediaType(String),
    /// A write sent to the read listener of a registry whose writes have their own
    /// (`REGISTRY_ADMIN_ADDR`).
    #[error(
        "HTTP 405 Method Not Allowed: {0} is served on the registry's admin listener \
         (REGISTRY_ADMIN_ADDR), not on this read-only one"
    )]
    ReadOnlyListener(&'static str),
    /// Details go to the log, not to the client.
    #[error("Error in the backend data store")]
    Store(#[from] StoreError),
}

impl warp::reject::Reject for ApiError {}

/// Confluent's error body.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub error_code: u32,
    pub message: String,
}

impl ApiError {
    /// HTTP status and Confluent `error_code`, for every variant.
    pub fn status_and_code(&self) -> (StatusCode, u32) {
        match self {
            Self::NotFound => (StatusCode::NOT_FOUND, 404),
            Self::SubjectNotFound(_) => (StatusCode::NOT_FOUND, 40401),
            Self::VersionNotFound(_) => (StatusCode::NOT_FOUND, 40402),
            Self::SchemaIdNotFound(_) | Self::SchemaNotFound => (StatusCode::NOT_FOUND, 40403),
            Self::SubjectConfigNotFound(_) => (StatusCode::NOT_FOUND, 40408),
            Self::Incompatible { .. } => (StatusCode::CONFLICT, 409),
            Self::InvalidSchema(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42201),
            Self::InvalidVersion(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42202),
            Self::InvalidCompatibilityLevel(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42203),
            Self::InvalidSubject(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42208),
            Self::UnprocessableBody(_) => (StatusCode::UNPROCESSABLE_ENTITY, 422),
            Self::MalformedJson(_) | Self::BadRequest(_) => (StatusCode::BAD_REQUEST, 400),
            Self::LengthRequired => (StatusCode::LENGTH_REQUIRED, 411),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, 413),
            Self::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, 415),
            Self::ReadOnlyListener(_) => (StatusCode::METHOD_NOT_ALLOWED, 405),
            Self::Store(e) if e.is_unavailable() => (StatusCode::SERVICE_UNAVAILABLE, 50002),
            Self::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, 50001),
        }
    }

    /// The response sent for this error; server-side failures are logged with their cause.
    pub fn to_response(&self) -> warp::reply::Response {
        let (status, error_code) = self.status_and_code();
        if let Self::Store(cause) = self {
            tracing::error!(error = %cause, error_code, "request failed in storage");
        }
        let body = ErrorBody {
            error_code,
            message: self.to_string(),
        };
        crate::api::reply::json(status, &body)
    }
}

/// Why the registry could not start or keep serving.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot open the registry's storage: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}
