//! The one place where errors become HTTP responses. Handlers return `Result<_, ApiError>`;
//! rejections from warp's own filters are mapped by `recover` so every error answer has the
//! same JSON shape: `{"error": "<code>", "message": "<what is wrong>"}`.

use std::convert::Infallible;
use std::net::SocketAddr;

use healthpipe_storage::{ErrorClass, StoreError};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Rejection, Reply};

/// Errors that stop the gateway from starting.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error("kafka producer: {0}")]
    Kafka(String),
}

/// Errors a request can end with.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("missing or invalid bearer token")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The body did not arrive within `BODY_READ_TIMEOUT_SECS`.
    #[error("{0}")]
    RequestTimeout(String),
    #[error("{0}")]
    Unprocessable(String),
    /// The path exists, the method does not: `allow` lists the methods it has.
    #[error("this endpoint does not support the method; it supports {allow}")]
    MethodNotAllowed { allow: String },
    #[error("too many attempts, retry in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// Kafka, the registry or the database cannot take the request now; nothing was applied.
    #[error("{reason}")]
    Unavailable {
        reason: String,
        retry_after_secs: u64,
    },
    /// A bug or an unexpected failure: logged, answered without details.
    #[error("internal error")]
    Internal(String),
    /// A read started from a remembered session that has changed since (its zone moved):
    /// `routes` runs the read again on the session as it is now, so a client sees this only
    /// if the session changed again in between.
    #[error("the session changed during the request; retry")]
    SessionChanged,
}

impl warp::reject::Reject for ApiError {}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } | Self::SessionChanged => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::Unprocessable(_) => "unprocessable",
            Self::RequestTimeout(_) => "request_timeout",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Unavailable { .. } | Self::SessionChanged => "unavailable",
            Self::Internal(_) => "internal",
        }
    }
}

/// Every storage failure becomes HTTP here, on its class alone: a database that cannot
/// answer now is a 503 with `Retry-After` (nothing was applied; retrying may succeed), any
/// other failure a bug answered as a generic 500. Either way the details are logged, never
/// returned.
impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error.class() {
            ErrorClass::Transient => {
                tracing::warn!(%error, "database unavailable");
                Self::Unavailable {
                    reason: "database unavailable; retry later".into(),
                    retry_after_secs: 1,
                }
            }
            ErrorClass::Data | ErrorClass::Constraint | ErrorClass::Fatal => {
                Self::Internal(error.to_string())
            }
        }
    }
}

/// No connection from the pool.
impl From<deadpool_postgres::PoolError> for ApiError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        StoreError::from(error).into()
    }
}

/// A transaction that cannot begin or commit; its statements fail as [`StoreError`] already.
impl From<tokio_postgres::Error> for ApiError {
    fn from(error: tokio_postgres::Error) -> Self {
        StoreError::from_postgres("transaction", &error).into()
    }
}

impl Reply for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Self::Internal(detail) = &self {
            tracing::error!(%detail, "request failed");
        }
        let body = serde_json::json!({"error": self.code(), "message": self.to_string()});
        let mut response =
            warp::reply::with_status(warp::reply::json(&body), status).into_response();
        let retry_after = match &self {
            Self::TooManyRequests { retry_after_secs } => Some(*retry_after_secs),
            Self::Unavailable {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert("retry-after", warp::http::HeaderValue::from(secs));
        }
        if let Self::MethodNotAllowed { allow } = &self {
            if let Ok(value) = warp::http::HeaderValue::from_str(allow) {
                response.headers_mut().insert("allow", value);
            }
        }
        response
    }
}

/// Marks a response as "no route matched": the route table then tells a path that does not
/// exist (404) from a method the path does not have (405).
#[derive(Debug, Clone, Copy)]
pub struct NoRoute;

/// Parses a JSON object body: not JSON is a 400 naming the position, JSON of another shape
/// (including an array, which serde would take for a struct) a 422.
pub fn parse_object<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    let value: T = serde_json::from_slice(body).map_err(json_error)?;
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Ok(value),
        _ => Err(ApiError::Unprocessable(
            "the body must be a JSON object".into(),
        )),
    }
}

/// A body that is not JSON is a 400 naming the position; JSON of another shape is a 422.
fn json_error(e: serde_json::Error) -> ApiError {
    if e.is_data() {
        ApiError::Unprocessable(e.to_string())
    } else {
        ApiError::BadRequest(format!("malformed JSON body: {e}"))
    }
}

/// Maps every rejection, ours and warp's, to the JSON error shape.
pub async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    let error = if let Some(e) = rejection.find::<ApiError>() {
        e.clone()
    } else if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        ApiError::PayloadTooLarge(
            "request body too large: at most 5 MiB for a sync, 64 KiB elsewhere".into(),
        )
    } else if rejection.find::<warp::reject::LengthRequired>().is_some() {
        ApiError::BadRequest("a Content-Length header is required".into())
    } else if let Some(e) = rejection.find::<warp::reject::MissingHeader>() {
        ApiError::BadRequest(e.to_string())
    } else if let Some(e) = rejection.find::<warp::reject::InvalidHeader>() {
        ApiError::BadRequest(e.to_string())
    } else if let Some(e) = rejection.find::<warp::reject::InvalidQuery>() {
        ApiError::BadRequest(e.to_string())
    } else if rejection
        .find::<warp::reject::UnsupportedMediaType>()
        .is_some()
    {
        ApiError::BadRequest("send the body as application/json".into())
    } else if rejection.is_not_found()
        || rejection.find::<warp::reject::MethodNotAllowed>().is_some()
    {
        let mut response = ApiError::NotFound("no such endpoint".into()).into_response();
        response.extensions_mut().insert(NoRoute);
        return Ok(response);
    } else {
        ApiError::Internal(format!("unhandled rejection: {rejection:?}"))
    };
    Ok(error.into_response())
}

/// Turns a handler's result into a response, so handlers never reject after their route matched.
pub fn respond<R: Reply>(result: Result<R, ApiError>) -> Result<Response, Infallible> {
    Ok(match result {
        Ok(reply) => reply.into_response(),
        Err(error) => error.into_response(),
    })
}
