//! The insights processor's SQL: one statement per table and batch, never per row.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use deadpool_postgres::Transaction;
use healthpipe_domain::SampleType;
use uuid::Uuid;

use super::state::{InputKey, InputRow, InsightRow, UserState};

type Result<T> = std::result::Result<T, tokio_postgres::Error>;

/// What to load per user: rows from `since` on, plus the day rows starting at
/// `day_starts` (older days the batch changes, whose alerts are evaluated again).
pub struct Wanted {
    pub user: Uuid,
    pub since: DateTime<Utc>,
    pub day_starts: Vec<DateTime<Utc>>,
}

/// Zones, evaluation times, input rows and active insights of the users in `wanted`.
pub async fn load(tx: &Transaction<'_>, wanted: &[Wanted]) -> Result<HashMap<Uuid, UserState>> {
    let users: Vec<Uuid> = wanted.iter().map(|w| w.user).collect();
    let mut states: HashMap<Uuid, UserState> = users
        .iter()
        .map(|u| (*u, UserState::new(*u, Tz::UTC, None)))
        .collect();
    for r in tx
        .query(
            "SELECT user_id, timezone, evaluated_at FROM insight_users WHERE user_id = ANY($1)",
            &[&users],
        )
        .await?
    {
        let user: Uuid = r.get(0);
        let zone: String = r.get(1);
        if let Some(state) = states.get_mut(&user) {
            state.tz = zone.parse().unwrap_or(Tz::UTC);
            state.evaluated_at = Some(r.get(2));
        }
    }
    let (mut us, mut sinces, mut day_users, mut day_starts) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for w in wanted {
        us.push(w.user);
        sinces.push(w.since);
        for d in &w.day_starts {
            day_users.push(w.user);
            day_starts.push(*d);
        }
    }
    let rows = tx
        .query(
            "SELECT i.user_id, i.sample_type, i.period, i.period_start, i.value, i.min_value, i.max_value, i.sample_count \
             FROM unnest($1::uuid[], $2::timestamptz[]) AS w(u, s) \
             JOIN insight_inputs i ON i.user_id = w.u AND i.period_start >= w.s \
             UNION \
             SELECT i.user_id, i.sample_type, i.period, i.period_start, i.value, i.min_value, i.max_value, i.sample_count \
             FROM unnest($3::uuid[], $4::timestamptz[]) AS d(u, s) \
             JOIN insight_inputs i ON i.user_id = d.u AND i.period = 'day' AND i.period_start = d.s",
            &[&us, &sinces, &day_users, &day_starts],
        )
        .await?;
    for r in rows {
        let user: Uuid = r.get(0);
        let type_name: String = r.get(1);
        let period: String = r.get(2);
        let (Ok(sample_type), Some(state)) =
            (type_name.parse::<SampleType>(), states.get_mut(&user))
        else {
            continue;
        };
        let period: &'static str = if period == "hour" { "hour" } else { "day" };
        let count: i32 = r.get(7);
        state.inputs.insert(
            (sample_type, period, r.get(3)),
            InputRow {
                value: r.get(4),
                min_value: r.get(5),
                max_value: r.get(6),
                sample_count: u32::try_from(count).unwrap_or(0),
            },
        );
    }
    for r in tx
        .query(
            "SELECT user_id, insight_id, rule_key, insight_type, severity, direction, message, recommendation, \
             data, created_at, updated_at FROM insights WHERE user_id = ANY($1) AND status = 'active'",
            &[&users],
        )
        .await?
    {
        let user: Uuid = r.get(0);
        let Some(state) = states.get_mut(&user) else {
            continue;
        };
        let row = InsightRow {
            user,
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
        };
        state.active.insert(row.rule_key.clone(), row);
    }
    Ok(states)
}

/// Writes the users' zones and evaluation times, the changed input rows and the final
/// version of every insight the batch touched.
pub async fn save(
    tx: &Transaction<'_>,
    states: &HashMap<Uuid, UserState>,
    insights: &[InsightRow],
) -> Result<()> {
    let (mut users, mut zones, mut times) = (Vec::new(), Vec::new(), Vec::new());
    for s in states.values() {
        if let Some(at) = s.evaluated_at {
            users.push(s.user);
            zones.push(s.tz.name().to_string());
            times.push(at);
        }
    }
    tx.execute(
        "INSERT INTO insight_users (user_id, timezone, evaluated_at) \
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) \
         ON CONFLICT (user_id) DO UPDATE SET timezone = EXCLUDED.timezone, \
         evaluated_at = GREATEST(insight_users.evaluated_at, EXCLUDED.evaluated_at)",
        &[&users, &zones, &times],
    )
    .await?;
    save_inputs(tx, states).await?;
    save_insights(tx, insights).await
}

async fn save_inputs(tx: &Transaction<'_>, states: &HashMap<Uuid, UserState>) -> Result<()> {
    let changed: Vec<(Uuid, &InputKey, &Option<InputRow>)> = states
        .values()
        .flat_map(|s| s.changed_inputs.iter().map(move |(k, v)| (s.user, k, v)))
        .collect();
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
        let t = sample_type.as_str().to_string();
        match row {
            None => {
                del.0.push(user);
                del.1.push(t);
                del.2.push(period.to_string());
                del.3.push(*start);
            }
            Some(r) => {
                put.0.push(user);
                put.1.push(t);
                put.2.push(period.to_string());
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
        tx.execute(
            "DELETE FROM insight_inputs i USING unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[]) \
             AS d(u, t, p, s) WHERE i.user_id = d.u AND i.sample_type = d.t AND i.period = d.p AND i.period_start = d.s",
            &[&del.0, &del.1, &del.2, &del.3],
        )
        .await?;
    }
    if !put.0.is_empty() {
        tx.execute(
            "INSERT INTO insight_inputs (user_id, sample_type, period, period_start, value, min_value, max_value, sample_count) \
             SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::float8[], $6::float8[], \
             $7::float8[], $8::int[]) \
             ON CONFLICT (user_id, sample_type, period, period_start) DO UPDATE SET value = EXCLUDED.value, \
             min_value = EXCLUDED.min_value, max_value = EXCLUDED.max_value, sample_count = EXCLUDED.sample_count",
            &[&put.0, &put.1, &put.2, &put.3, &put.4, &put.5, &put.6, &put.7],
        )
        .await?;
    }
    Ok(())
}

/// The last version of each insight wins; resolved rows are written first, so a condition
/// that resolved and came back in the same batch never has two active rows at once.
async fn save_insights(tx: &Transaction<'_>, versions: &[InsightRow]) -> Result<()> {
    let mut last: HashMap<(Uuid, Uuid), &InsightRow> = HashMap::new();
    for v in versions {
        last.insert((v.user, v.id), v);
    }
    let mut rows: Vec<&InsightRow> = last.into_values().collect();
    rows.sort_by_key(|r| (r.status == "active", r.updated_at));
    for chunk in [
        rows.iter()
            .filter(|r| r.status != "active")
            .collect::<Vec<_>>(),
        rows.iter().filter(|r| r.status == "active").collect(),
    ] {
        if chunk.is_empty() {
            continue;
        }
        let col = |f: fn(&InsightRow) -> String| chunk.iter().map(|r| f(r)).collect::<Vec<_>>();
        let users: Vec<Uuid> = chunk.iter().map(|r| r.user).collect();
        let ids: Vec<Uuid> = chunk.iter().map(|r| r.id).collect();
        let directions: Vec<Option<String>> = chunk.iter().map(|r| r.direction.clone()).collect();
        let data: Vec<serde_json::Value> = chunk.iter().map(|r| r.data.clone()).collect();
        let created: Vec<DateTime<Utc>> = chunk.iter().map(|r| r.created_at).collect();
        let updated: Vec<DateTime<Utc>> = chunk.iter().map(|r| r.updated_at).collect();
        tx.execute(
            "INSERT INTO insights (user_id, insight_id, rule_key, insight_type, severity, status, direction, message, \
             recommendation, data, created_at, updated_at) \
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
             $8::text[], $9::text[], $10::jsonb[], $11::timestamptz[], $12::timestamptz[]) \
             ON CONFLICT (user_id, insight_id) DO UPDATE SET severity = EXCLUDED.severity, status = EXCLUDED.status, \
             direction = EXCLUDED.direction, message = EXCLUDED.message, recommendation = EXCLUDED.recommendation, \
             data = EXCLUDED.data, updated_at = EXCLUDED.updated_at",
            &[
                &users,
                &ids,
                &col(|r| r.rule_key.clone()),
                &col(|r| r.insight_type.clone()),
                &col(|r| r.severity.clone()),
                &col(|r| r.status.to_string()),
                &directions,
                &col(|r| r.message.clone()),
                &col(|r| r.recommendation.clone()),
                &data,
                &created,
                &updated,
            ],
        )
        .await?;
    }
    Ok(())
}
