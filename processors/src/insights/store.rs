//! Loads the batch's per-user state from the insights projection and writes back what the
//! batch changed, through `healthpipe_storage` (one statement per table and batch).

use std::collections::HashMap;

use chrono_tz::Tz;
use deadpool_postgres::Transaction;
use healthpipe_domain::Horizons;
use healthpipe_storage::projections::insights::{self, InsightRow, InsightUser, Wanted};
use healthpipe_storage::StoreError;
use uuid::Uuid;

use super::state::UserState;

/// Zones, evaluation times, input rows and active insights of the users in `wanted`; a user
/// seen for the first time starts in UTC, never evaluated.
pub async fn load(
    tx: &Transaction<'_>,
    wanted: &[Wanted],
) -> Result<HashMap<Uuid, UserState>, StoreError> {
    let users: Vec<Uuid> = wanted.iter().map(|w| w.user).collect();
    let mut states: HashMap<Uuid, UserState> = users
        .iter()
        .map(|u| (*u, UserState::new(*u, Tz::UTC, None)))
        .collect();
    for stored in insights::users(tx, &users).await? {
        if let Some(state) = states.get_mut(&stored.user) {
            state.tz = stored.tz;
            state.evaluated_at = Some(stored.evaluated_at);
        }
    }
    for (user, key, row) in insights::inputs(tx, wanted).await? {
        if let Some(state) = states.get_mut(&user) {
            state.inputs.insert(key, row);
        }
    }
    for row in insights::active(tx, &users).await? {
        if let Some(state) = states.get_mut(&row.user) {
            state.active.insert(row.rule_key.clone(), row);
        }
    }
    Ok(states)
}

/// Writes the users' zones and evaluation times, the changed input rows and the final
/// version of every insight the batch touched, leaving out input rows older than retention
/// keeps (`healthpipe_domain::retention`).
pub async fn save(
    tx: &Transaction<'_>,
    states: &HashMap<Uuid, UserState>,
    versions: &[InsightRow],
    horizons: &Horizons,
) -> Result<(), StoreError> {
    let evaluated: Vec<InsightUser> = states
        .values()
        .filter_map(|s| {
            s.evaluated_at.map(|at| InsightUser {
                user: s.user,
                tz: s.tz,
                evaluated_at: at,
            })
        })
        .collect();
    insights::upsert_users(tx, &evaluated).await?;
    let changed: Vec<_> = states
        .values()
        .flat_map(|s| {
            s.changed_inputs
                .iter()
                .filter(|(key, _)| key.2 >= horizons.insight_inputs)
                .map(move |(key, row)| (s.user, key, row.as_ref()))
        })
        .collect();
    insights::write_inputs(tx, &changed).await?;
    let (resolved, active) = last_versions(versions);
    insights::upsert(tx, &resolved).await?;
    insights::upsert(tx, &active).await
}

/// The last version of each insight, resolved ones apart from active ones: resolved rows are
/// written first, so a condition that resolved and came back in the same batch never has two
/// active rows at once.
fn last_versions(versions: &[InsightRow]) -> (Vec<&InsightRow>, Vec<&InsightRow>) {
    let mut last: HashMap<(Uuid, Uuid), &InsightRow> = HashMap::new();
    for v in versions {
        last.insert((v.user, v.id), v);
    }
    let mut rows: Vec<&InsightRow> = last.into_values().collect();
    rows.sort_by_key(|r| r.updated_at);
    rows.into_iter().partition(|r| r.status != "active")
}
