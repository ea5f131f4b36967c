//! The caller's insights (`GET /api/v1/insights`) and their acknowledgement
//! (`POST /api/v1/insights/{id}/acknowledge`).
//!
//! Insights are written by the insights processor; acknowledgements are events the gateway
//! appends and the aggregation processor projects into `insight_acknowledgements` (the first
//! one wins). The list joins the two. Answer of the list, newest `updated_at` first:
//!
//! ```json
//! {"insights": [{"id": "…", "type": "ACTIVITY_CHANGE", "severity": "info", "status": "active",
//!   "direction": "down", "message": "…", "recommendation": "…", "data": {…},
//!   "created_at": "…", "updated_at": "…", "acknowledged": false, "acknowledged_at": null}]}
//! ```
//!
//! `unread=true` lists only the insights not acknowledged, `unread=false` only the acknowledged
//! ones; `limit` (default 100, at most 500) bounds the list.
//!
//! Acknowledging answers `{"insight_id", "acknowledged_at"}` once the event is in Kafka. An
//! insight already acknowledged answers its stored time and appends nothing. An id that is not
//! one of the caller's insights (another user's, or not an id at all) is a 404: the answer never
//! tells whether someone else has such an insight.

use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};
use healthpipe_schemas::InsightAcknowledged;
use healthpipe_storage::reads::insights::{self, Acknowledgement, Filter, Insight};
use serde::Serialize;
use uuid::Uuid;
use warp::Reply;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::query::{Params, Reader};
use crate::AppState;

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 500;

#[derive(Debug, Serialize)]
struct InsightList {
    insights: Vec<InsightView>,
}

#[derive(Debug, Serialize)]
struct InsightView {
    id: Uuid,
    #[serde(rename = "type")]
    insight_type: String,
    severity: String,
    status: String,
    direction: Option<String>,
    message: String,
    recommendation: String,
    data: serde_json::Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    acknowledged: bool,
    acknowledged_at: Option<DateTime<Utc>>,
}

impl From<Insight> for InsightView {
    fn from(i: Insight) -> Self {
        InsightView {
            id: i.id,
            insight_type: i.insight_type,
            severity: i.severity,
            status: i.status,
            direction: i.direction,
            message: i.message,
            recommendation: i.recommendation,
            data: i.data,
            created_at: i.created_at,
            updated_at: i.updated_at,
            acknowledged: i.acknowledged_at.is_some(),
            acknowledged_at: i.acknowledged_at,
        }
    }
}

#[derive(Debug, Serialize)]
struct Acknowledged {
    insight_id: Uuid,
    acknowledged_at: DateTime<Utc>,
}

/// Role: user.
pub async fn list(
    state: Arc<AppState>,
    user: AuthUser,
    params: Params,
) -> Result<impl Reply, ApiError> {
    let filter = match params.get("unread") {
        None => Filter::All,
        Some("true") => Filter::Unread,
        Some("false") => Filter::Acknowledged,
        Some(_) => return Err(ApiError::BadRequest("unread: true or false".into())),
    };
    let limit = params.limit(DEFAULT_LIMIT, MAX_LIMIT)?;
    let mut read = Reader::open(&state, &user).await?;
    let insights = read
        .first(&state, |db| insights::list(db, user.id, filter, limit))
        .await?
        .into_iter()
        .map(InsightView::from)
        .collect();
    Ok(warp::reply::json(&InsightList { insights }))
}

/// Role: user. `id` is the raw path segment: anything but one of the caller's insight ids is
/// the same 404.
pub async fn acknowledge(
    state: Arc<AppState>,
    user: AuthUser,
    id: String,
) -> Result<impl Reply, ApiError> {
    let not_found = || ApiError::NotFound("insight not found".into());
    let insight_id: Uuid = id.parse().map_err(|_| not_found())?;
    let db = state.db.get().await?;
    let acknowledgement = insights::acknowledgement(&db, user.id, insight_id)
        .await?
        .ok_or_else(not_found)?;
    drop(db);
    if let Acknowledgement::At(acknowledged_at) = acknowledgement {
        return Ok(warp::reply::json(&Acknowledged {
            insight_id,
            acknowledged_at,
        }));
    }
    // The event carries microseconds: answer the time exactly as it is stored.
    let acknowledged_at = Utc::now().trunc_subsecs(6);
    let event = InsightAcknowledged {
        event_id: Uuid::new_v4().to_string(),
        user_id: user.id.to_string(),
        insight_id: insight_id.to_string(),
        acknowledged_at: acknowledged_at.timestamp_micros(),
    };
    let key = state.data_key(user.id).await?;
    state
        .publisher
        .publish_one(&event.user_id, &key, &event)
        .await?;
    Ok(warp::reply::json(&Acknowledged {
        insight_id,
        acknowledged_at,
    }))
}
