//! What the processors know of a user besides samples: the time zone (`user_profiles`) and
//! how their devices rank (`device_rankings`), both copied from the log so that a projection
//! never reads the gateway's tables.

use std::collections::HashMap;

use chrono_tz::Tz;
use deadpool_postgres::{GenericClient, Transaction};
use healthpipe_domain::{DeviceRanking, SampleType};
use uuid::Uuid;

use crate::sql::{execute, query};
use crate::{statement, StoreError};

statement!(PROFILES_UPSERT, "user_profiles_upsert");
statement!(PROFILES_ZONES, "user_profiles_zones");
statement!(RANKINGS_UPSERT, "device_rankings_upsert");
statement!(RANKINGS_LOAD, "device_rankings_load");

/// A `device_rankings` row without its key (user, device).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRow {
    /// Empty when the event did not carry it (a priority change): the stored one is kept.
    pub device_type: String,
    pub priority: i32,
    /// Sample type name → priority for that type, overriding `priority`.
    pub type_priorities: HashMap<String, i32>,
}

/// Stores each user's time zone (an IANA name).
pub async fn upsert_zones(
    tx: &Transaction<'_>,
    zones: &HashMap<Uuid, String>,
) -> Result<(), StoreError> {
    if zones.is_empty() {
        return Ok(());
    }
    let (users, names): (Vec<Uuid>, Vec<&str>) =
        zones.iter().map(|(u, z)| (*u, z.as_str())).unzip();
    execute(tx, PROFILES_UPSERT, &[&users, &names]).await?;
    Ok(())
}

/// The time zones of `users`; a user without a profile is absent, a zone this build does not
/// know reads as UTC.
pub async fn zones<C: GenericClient>(
    client: &C,
    users: &[Uuid],
) -> Result<HashMap<Uuid, Tz>, StoreError> {
    let rows = query(client, PROFILES_ZONES, &[&users]).await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get::<_, &str>(1).parse::<Tz>().unwrap_or(Tz::UTC),
            )
        })
        .collect())
}

/// Stores device rankings, keyed by (user, device).
pub async fn upsert_devices(
    tx: &Transaction<'_>,
    devices: &HashMap<(Uuid, Uuid), DeviceRow>,
) -> Result<(), StoreError> {
    if devices.is_empty() {
        return Ok(());
    }
    let mut cols = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for ((user, device), row) in devices {
        cols.0.push(*user);
        cols.1.push(*device);
        cols.2.push(row.device_type.as_str());
        cols.3.push(row.priority);
        cols.4
            .push(serde_json::to_value(&row.type_priorities).expect("a map serialises"));
    }
    execute(
        tx,
        RANKINGS_UPSERT,
        &[&cols.0, &cols.1, &cols.2, &cols.3, &cols.4],
    )
    .await?;
    Ok(())
}

/// The device ranking of each of `users` that has a device, in one query. This is the one
/// place a [`DeviceRanking`] is built from `device_rankings` rows: the aggregation
/// processor deduplicates with it, and the query API is meant to read it through here too, so
/// that what it shows as counted follows the very ranking the aggregates were computed with.
pub async fn device_rankings<C: GenericClient>(
    client: &C,
    users: &[Uuid],
) -> Result<HashMap<Uuid, DeviceRanking>, StoreError> {
    let rows = query(client, RANKINGS_LOAD, &[&users]).await?;
    let mut rankings: HashMap<Uuid, DeviceRanking> = HashMap::new();
    for r in &rows {
        let ranking = rankings.entry(r.get(0)).or_default();
        rank(ranking, r.get(1), r.get(2), r.get(3));
    }
    Ok(rankings)
}

/// The device ranking of one user, as the aggregation processor last stored it (empty for a
/// user without devices). See [`device_rankings`] for many users at once.
pub async fn device_ranking<C: GenericClient>(
    client: &C,
    user: Uuid,
) -> Result<DeviceRanking, StoreError> {
    Ok(device_rankings(client, &[user])
        .await?
        .remove(&user)
        .unwrap_or_default())
}

/// Adds one `device_rankings` row to a ranking. Its type overrides were written by
/// [`upsert_devices`] from a map of integers; anything else, and types this build does not
/// know, are ignored.
fn rank(ranking: &mut DeviceRanking, device: Uuid, priority: i32, overrides: serde_json::Value) {
    let device = device.to_string();
    ranking.set_priority(device.clone(), priority.into());
    let overrides: HashMap<String, i32> = serde_json::from_value(overrides).unwrap_or_default();
    for (sample_type, p) in overrides {
        if let Ok(t) = sample_type.parse::<SampleType>() {
            ranking.set_type_priority(device.clone(), t, p.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_type_override_wins_over_the_general_priority_for_its_type_only() {
        let (watch, phone) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mut ranking = DeviceRanking::new();
        rank(
            &mut ranking,
            watch,
            10,
            json!({"STEPS": 1, "NOT_A_TYPE": 99}),
        );
        rank(&mut ranking, phone, 5, json!({}));
        let (watch, phone) = (watch.to_string(), phone.to_string());
        assert_eq!(
            ranking.effective_priority(&watch, SampleType::Steps),
            Some(1)
        );
        assert_eq!(
            ranking.effective_priority(&watch, SampleType::HeartRate),
            Some(10)
        );
        assert_eq!(
            ranking.effective_priority(&phone, SampleType::Steps),
            Some(5)
        );
    }

    #[test]
    fn overrides_that_are_not_a_map_of_integers_are_ignored() {
        let device = Uuid::from_u128(1);
        let mut ranking = DeviceRanking::new();
        rank(&mut ranking, device, 3, json!(["STEPS", 1]));
        let device = device.to_string();
        assert_eq!(
            ranking.effective_priority(&device, SampleType::Steps),
            Some(3)
        );
    }
}
