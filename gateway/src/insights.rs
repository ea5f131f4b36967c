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

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};
use healthpipe_schemas::InsightAcknowledged;
use serde::Serialize;
use uuid::Uuid;
use warp::Reply;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::query::limit_param;
use crate::AppState;

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 500;

/// `$2`: `NULL` for every insight, `true` for the unread ones, `false` for the acknowledged.
const LIST_SQL: &str = "SELECT i.insight_id, i.insight_type, i.severity, i.status, \
     i.direction, i.message, i.recommendation, i.data, i.created_at, i.updated_at, \
     a.acknowledged_at \
     FROM insights i LEFT JOIN insight_acknowledgements a \
     ON a.user_id = i.user_id AND a.insight_id = i.insight_id \
     WHERE i.user_id = $1 AND ($2::boolean IS NULL OR (a.acknowledged_at IS NULL) = $2) \
     ORDER BY i.updated_at DESC, i.insight_id LIMIT $3";
const FIND_SQL: &str = "SELECT a.acknowledged_at FROM insights i \
     LEFT JOIN insight_acknowledgements a \
     ON a.user_id = i.user_id AND a.insight_id = i.insight_id \
     WHERE i.user_id = $1 AND i.insight_id = $2";

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

#[derive(Debug, Serialize)]
struct Acknowledged {
    insight_id: Uuid,
    acknowledged_at: DateTime<Utc>,
}

/// Role: user.
pub async fn list(
    state: Arc<AppState>,
    user: AuthUser,
    params: HashMap<String, String>,
) -> Result<impl Reply, ApiError> {
    let unread = match params.get("unread").map(String::as_str) {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(ApiError::BadRequest("unread: true or false".into())),
    };
    let limit = limit_param(&params, DEFAULT_LIMIT, MAX_LIMIT)?;
    let db = state.db.get().await?;
    let statement = db.prepare_cached(LIST_SQL).await?;
    let rows = db.query(&statement, &[&user.id, &unread, &limit]).await?;
    let insights = rows
        .iter()
        .map(|r| {
            let acknowledged_at: Option<DateTime<Utc>> = r.get(10);
            InsightView {
                id: r.get(0),
                insight_type: r.get(1),
                severity: r.get(2),
                status: r.get(3),
                direction: r.get(4),
                message: r.get(5),
                recommendation: r.get(6),
                data: r.get(7),
                created_at: r.get(8),
                updated_at: r.get(9),
                acknowledged: acknowledged_at.is_some(),
                acknowledged_at,
            }
        })
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
    let statement = db.prepare_cached(FIND_SQL).await?;
    let row = db
        .query_opt(&statement, &[&user.id, &insight_id])
        .await?
        .ok_or_else(not_found)?;
    drop(db);
    if let Some(acknowledged_at) = row.get::<_, Option<DateTime<Utc>>>(0) {
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
    state.publisher.publish_one(&event.user_id, &event).await?;
    Ok(warp::reply::json(&Acknowledged {
        insight_id,
        acknowledged_at,
    }))
}
