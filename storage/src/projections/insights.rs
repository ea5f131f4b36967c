//! The insights projection: each user's zone and latest evaluation (`insight_users`), its own
//! copy of the aggregate rows the rules read (`insight_inputs`), the insights themselves and
//! their acknowledgements. One statement per table and batch, never per row.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use deadpool_postgres::Transaction;
use healthpipe_domain::SampleType;
use uuid::Uuid;

use crate::sql::{execute, query};
use crate::{statement, StoreError};

statement!(USERS_LOAD, "insight_users_load");
statement!(USERS_UPSERT, "insight_users_upsert");
statement!(INPUTS_LOAD, "insight_inputs_load");
statement!(INPUTS_DELETE, "insight_inputs_delete");
statement!(INPUTS_UPSERT, "insight_inputs_upsert");
statement!(ACTIVE, "insights_active");
statement!(UPSERT, "insights_upsert");
statement!(ACKNOWLEDGE, "insight_acknowledgements_insert");

/// (type, period, period start) of an input row; the period is `"day"` or `"hour"`.
pub type InputKey = (SampleType, &'static str, DateTime<Utc>);

/// The values of an `insight_inputs` row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InputRow {
    pub value: f64,
    pub min_value: f64,
    pub max_value: f64,
    pub sample_count: u32,
}

/// One version of an insight, as stored and as published.
#[derive(Debug, Clone, PartialEq)]
pub struct InsightRow {
    pub user: Uuid,
    pub id: Uuid,
    pub rule_key: String,
    pub insight_type: String,
    pub severity: String,
    /// `"active"` or `"resolved"`.
    pub status: &'static str,
    pub direction: Option<String>,
    pub message: String,
    pub recommendation: String,
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An `insight_users` row: the zone a user was last evaluated in, and as of when.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InsightUser {
    pub user: Uuid,
    pub tz: Tz,
    pub evaluated_at: DateTime<Utc>,
}

/// Which input rows to load for one user: every row from `since` on, plus the day rows
/// starting at `day_starts` (older days a batch changes, whose alerts are evaluated again).
#[derive(Debug, Clone, PartialEq)]
pub struct Wanted {
    pub user: Uuid,
    pub since: DateTime<Utc>,
    pub day_starts: Vec<DateTime<Utc>>,
}

/// The stored users among `users`; a zone this build does not know reads as UTC.
pub async fn users(tx: &Transaction<'_>, users: &[Uuid]) -> Result<Vec<InsightUser>, StoreError> {
    let rows = query(tx, USERS_LOAD, &[&users]).await?;
    Ok(rows
        .iter()
        .map(|r| InsightUser {
            user: r.get(0),
            tz: r.get::<_, &str>(1).parse().unwrap_or(Tz::UTC),
            evaluated_at: r.get(2),
        })
        .collect())
}

/// Stores users' zones and evaluation times; a stored evaluation time never goes back.
pub async fn upsert_users(tx: &Transaction<'_>, users: &[InsightUser]) -> Result<(), StoreError> {
    if users.is_empty() {
        return Ok(());
    }
    let mut cols = (Vec::new(), Vec::new(), Vec::new());
    for u in users {
        cols.0.push(u.user);
        cols.1.push(u.tz.name());
        cols.2.push(u.evaluated_at);
    }
    execute(tx, USERS_UPSERT, &[&cols.0, &cols.1, &cols.2]).await?;
    Ok(())
}

/// The input rows `wanted`, in one query. Rows of types this build does not know are left
/// out.
pub async fn inputs(
    tx: &Transaction<'_>,
    wanted: &[Wanted],
) -> Result<Vec<(Uuid, InputKey, InputRow)>, StoreError> {
    let (mut users, mut sinces, mut day_users, mut day_starts) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for w in wanted {
        users.push(w.user);
        sinces.push(w.since);
        for d in &w.day_starts {
            day_users.push(w.user);
            day_starts.push(*d);
        }
    }
    let rows = query(tx, INPUTS_LOAD, &[&users, &sinces, &day_users, &day_starts]).await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let sample_type = r.get::<_, &str>(1).parse::<SampleType>().ok()?;
            let period: &'static str = if r.get::<_, &str>(2) == "hour" {
                "hour"
            } else {
                "day"
            };
            let count: i32 = r.get(7);
            let row = InputRow {
                value: r.get(4),
                min_value: r.get(5),
                max_value: r.get(6),
                sample_count: u32::try_from(count).unwrap_or(0),
            };
            Some((r.get(0), (sample_type, period, r.get(3)), row))
        })
        .collect())
}

/// Writes changed input rows: `None` deletes the row.
pub async fn write_inputs(
    tx: &Transaction<'_>,
    changed: &[(Uuid, &InputKey, Option<&InputRow>)],
) -> Result<(), StoreError> {
    let mut del = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut put = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for (user, (sample_type, period, start), row) in changed {
        match row {
            None => {
                del.0.push(*user);
                del.1.push(sample_type.as_str());
                del.2.push(*period);
                del.3.push(*start);
            }
            Some(r) => {
                put.0.push(*user);
                put.1.push(sample_type.as_str());
                put.2.push(*period);
                put.3.push(*start);
                put.4.push(r.value);
                put.5.push(r.min_value);
                put.6.push(r.max_value);
                put.7
                    .push(i32::try_from(r.sample_count).unwrap_or(i32::MAX));
            }
        }
    }
    if !del.0.is_empty() {
        execute(tx, INPUTS_DELETE, &[&del.0, &del.1, &del.2, &del.3]).await?;
    }
    if !put.0.is_empty() {
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 8] = [
            &put.0, &put.1, &put.2, &put.3, &put.4, &put.5, &put.6, &put.7,
        ];
        execute(tx, INPUTS_UPSERT, &params).await?;
    }
    Ok(())
}

/// The active insights of `users`.
pub async fn active(tx: &Transaction<'_>, users: &[Uuid]) -> Result<Vec<InsightRow>, StoreError> {
    let rows = query(tx, ACTIVE, &[&users]).await?;
    Ok(rows
        .iter()
        .map(|r| InsightRow {
            user: r.get(0),
            id: r.get(1),
            rule_key: r.get(2),
            insight_type: r.get(3),
            severity: r.get(4),
            status: "active",
            direction: r.get(5),
            message: r.get(6),
            recommendation: r.get(7),
            data: r.get(8),
            created_at: r.get(9),
            updated_at: r.get(10),
        })
        .collect())
}

/// Stores insight versions, one row per (user, insight id): `rows` must not name an insight
/// twice (a statement cannot update the same row twice).
pub async fn upsert(tx: &Transaction<'_>, rows: &[&InsightRow]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let col = |f: fn(&InsightRow) -> &str| rows.iter().map(|r| f(r)).collect::<Vec<_>>();
    let users: Vec<Uuid> = rows.iter().map(|r| r.user).collect();
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let directions: Vec<Option<&str>> = rows.iter().map(|r| r.direction.as_deref()).collect();
    let data: Vec<&serde_json::Value> = rows.iter().map(|r| &r.data).collect();
    let created: Vec<DateTime<Utc>> = rows.iter().map(|r| r.created_at).collect();
    let updated: Vec<DateTime<Utc>> = rows.iter().map(|r| r.updated_at).collect();
    execute(
        tx,
        UPSERT,
        &[
            &users,
            &ids,
            &col(|r| &r.rule_key),
            &col(|r| &r.insight_type),
            &col(|r| &r.severity),
            &col(|r| r.status),
            &directions,
            &col(|r| &r.message),
            &col(|r| &r.recommendation),
            &data,
            &created,
            &updated,
        ],
    )
    .await?;
    Ok(())
}

/// Stores acknowledgements, (user, insight id) → when; one already stored wins over a later
/// one.
pub async fn acknowledge(
    tx: &Transaction<'_>,
    acknowledgements: &HashMap<(Uuid, Uuid), DateTime<Utc>>,
) -> Result<(), StoreError> {
    if acknowledgements.is_empty() {
        return Ok(());
    }
    let mut cols = (Vec::new(), Vec::new(), Vec::new());
    for ((user, insight), at) in acknowledgements {
        cols.0.push(*user);
        cols.1.push(*insight);
        cols.2.push(*at);
    }
    execute(tx, ACKNOWLEDGE, &[&cols.0, &cols.1, &cols.2]).await?;
    Ok(())
}
