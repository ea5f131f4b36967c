//! Imports of exported health data: `POST /api/v1/imports/{source}` takes an export (an
//! Apple Health `export.zip` or `export.xml`, a third-party API response) as the request
//! body and answers 202 with the import's id at once; the import runs in the background
//! (`job`), and `GET /api/v1/imports/{id}` shows its progress and, at the end, its report.
//! `healthpipe import` runs the same job from the command line.
//!
//! - `upload`: the body, streamed to a file of its own (never held in memory);
//! - `input`: that file opened for a connector (the export inside a zip archive);
//! - `job`: reading, validating and appending, then waiting for the processor;
//! - `report`: the pure bookkeeping behind the report.

mod input;
pub mod job;
pub mod report;
mod upload;

use std::sync::Arc;

use futures::Stream;
use healthpipe_storage::imports;
use uuid::Uuid;
use warp::http::StatusCode;
use warp::Reply;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::AppState;

pub use job::{Counters, Job, Phase};
pub use report::Report;

/// Imports a user's list shows.
const LISTED: i64 = 50;

/// Role: user. Takes the export in the body, starts its import, answers 202 with its id.
pub async fn create(
    state: Arc<AppState>,
    user: AuthUser,
    source: String,
    length: Option<u64>,
    body: impl Stream<Item = Result<impl bytes::Buf, warp::Error>> + Unpin + Send,
) -> Result<warp::reply::Response, ApiError> {
    let connector = healthpipe_importer::connector(&source).ok_or_else(|| {
        let names: Vec<_> = healthpipe_importer::connectors()
            .iter()
            .map(|c| c.name())
            .collect();
        ApiError::NotFound(format!(
            "no import source {source:?}; the sources are {}",
            names.join(", ")
        ))
    })?;
    let settings = &state.config.imports;
    if let Some(length) = length.filter(|&l| l > settings.max_bytes) {
        return Err(upload::too_large(length, settings.max_bytes));
    }
    job::check_none_running(&state, user.id).await?;
    let file = upload::receive(settings, state.config.body_read_timeout, body).await?;
    let job = job::start(&state, user.id, connector, "api", file.path().to_owned()).await?;
    let id = job.id;
    tokio::spawn(async move {
        // The upload is removed when the import ends, whichever way.
        let _file = file;
        let _ = job::run(state, job).await;
    });
    let body = serde_json::json!({
        "id": id,
        "status": "running",
        "url": format!("/api/v1/imports/{id}"),
    });
    Ok(warp::reply::with_status(warp::reply::json(&body), StatusCode::ACCEPTED).into_response())
}

/// Role: user. One import of the caller; 404 for another user's, as for an unknown one.
pub async fn get(state: Arc<AppState>, user: AuthUser, id: Uuid) -> Result<impl Reply, ApiError> {
    let db = state.db.get().await?;
    job::fail_interrupted(&state, &db).await?;
    let row = imports::find(&db, user.id, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no import {id}")))?;
    Ok(warp::reply::json(&row))
}

/// Role: user. The caller's latest imports, newest first.
pub async fn list(state: Arc<AppState>, user: AuthUser) -> Result<impl Reply, ApiError> {
    let db = state.db.get().await?;
    job::fail_interrupted(&state, &db).await?;
    Ok(warp::reply::json(
        &imports::list(&db, user.id, LISTED).await?,
    ))
}

/// Removes uploads left by imports a stopped gateway was running (their rows are marked
/// failed by `job::fail_interrupted`).
pub fn remove_left_overs(settings: &crate::ImportSettings) {
    upload::remove_left_overs(&settings.dir);
}
