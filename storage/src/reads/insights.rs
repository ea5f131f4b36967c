//! The insights of one user with their acknowledgements: insights are written by the insights
//! processor, acknowledgements projected by the aggregation processor (the first one wins).

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use uuid::Uuid;

use crate::sql::{query, query_opt};
use crate::{statement, StoreError};

statement!(LIST, "insights_list");
statement!(ACKNOWLEDGEMENT, "insights_acknowledgement");

/// An insight as stored, with when it was acknowledged.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Insight {
    pub id: Uuid,
    pub insight_type: String,
    pub severity: String,
    pub status: String,
    pub direction: Option<String>,
    pub message: String,
    pub recommendation: String,
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
}

/// Which insights a list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    All,
    Unread,
    Acknowledged,
}

/// Where one of the user's insights stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acknowledgement {
    Pending,
    At(DateTime<Utc>),
}

/// At most `limit` of the user's insights, newest `updated_at` first.
pub async fn list(
    client: &impl GenericClient,
    user_id: Uuid,
    filter: Filter,
    limit: i64,
) -> Result<Vec<Insight>, StoreError> {
    let unread = match filter {
        Filter::All => None,
        Filter::Unread => Some(true),
        Filter::Acknowledged => Some(false),
    };
    let rows = query(client, LIST, &[&user_id, &unread, &limit]).await?;
    Ok(rows
        .iter()
        .map(|r| Insight {
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
            acknowledged_at: r.get(10),
        })
        .collect())
}

/// Whether the user's insight `insight_id` is acknowledged; `None` when the user has no such
/// insight (another user's counts as none).
pub async fn acknowledgement(
    client: &impl GenericClient,
    user_id: Uuid,
    insight_id: Uuid,
) -> Result<Option<Acknowledgement>, StoreError> {
    let row = query_opt(client, ACKNOWLEDGEMENT, &[&user_id, &insight_id]).await?;
    Ok(row.map(|r| match r.get::<_, Option<DateTime<Utc>>>(0) {
        Some(at) => Acknowledgement::At(at),
        None => Acknowledgement::Pending,
    }))
}
