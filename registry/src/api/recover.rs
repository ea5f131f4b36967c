//! Turns every rejection into Confluent's error body; warp's own plain-text answers never
//! reach a client.

use std::convert::Infallible;

use warp::reject::{
    InvalidHeader, InvalidQuery, LengthRequired, MethodNotAllowed, MissingHeader, PayloadTooLarge,
    UnsupportedMediaType,
};
use warp::reply::Response;
use warp::Rejection;

use super::filters::MAX_BODY_BYTES;
use crate::error::ApiError;

/// The last filter of the routes. The order below is the priority when several routes
/// rejected the same request: a route that matched the path and failed on the body says more
/// than one that did not match at all.
pub async fn rejection(rejection: Rejection) -> Result<Response, Infallible> {
    if let Some(error) = rejection.find::<ApiError>() {
        return Ok(error.to_response());
    }
    Ok(classify(&rejection).to_response())
}

/// Maps warp's built-in rejections.
fn classify(rejection: &Rejection) -> ApiError {
    if rejection.find::<PayloadTooLarge>().is_some() {
        return ApiError::PayloadTooLarge(MAX_BODY_BYTES);
    }
    if rejection.find::<LengthRequired>().is_some() {
        return ApiError::LengthRequired;
    }
    if let Some(e) = rejection.find::<UnsupportedMediaType>() {
        return ApiError::UnsupportedMediaType(e.to_string());
    }
    if let Some(e) = rejection.find::<InvalidQuery>() {
        return ApiError::BadRequest(e.to_string());
    }
    if let Some(e) = rejection.find::<InvalidHeader>() {
        return ApiError::BadRequest(e.to_string());
    }
    if let Some(e) = rejection.find::<MissingHeader>() {
        return ApiError::BadRequest(e.to_string());
    }
    if !rejection.is_not_found() && rejection.find::<MethodNotAllowed>().is_none() {
        tracing::warn!(?rejection, "unexpected rejection answered as 404");
    }
    // Unknown path, or a known path with another method: Confluent clients probing optional
    // endpoints only cope with its plain 404.
    ApiError::NotFound
}
