//! The batch plan applies events in log order: first occurrence wins, deletions leave
//! tombstones, higher sync versions replace lower ones, and every change widens the window
//! of buckets to recompute.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use healthpipe_domain::SampleType;
use healthpipe_schemas::typed;
use healthpipe_schemas::{
    DevicePriorityChanged, Sample, SamplesDeleted, SamplesRecorded, UserEvent, UserTimeZoneChanged,
};
use uuid::Uuid;

use super::*;

const USER: Uuid = Uuid::from_u128(1);
const DEVICE: Uuid = Uuid::from_u128(2);

/// A plan with horizons long before every test's data (on 2026-05-04 samples of 2019-05-04
/// and later are kept).
fn build<'a>(events: impl IntoIterator<Item = &'a typed::UserEvent>, known: KnownState) -> Plan {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 5, 4).unwrap();
    Plan::build(events, known, &Horizons::on(today))
}

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 4, hour, 0, 0).unwrap()
}

fn sample(id: u128, hour: u32, value: f64) -> Sample {
    Sample {
        sample_id: Uuid::from_u128(id).to_string(),
        sample_type: "STEPS".into(),
        value,
        unit: "count".into(),
        start_time: at(hour).timestamp_micros(),
        end_time: at(hour + 1).timestamp_micros(),
        utc_offset_seconds: 0,
        source_app: None,
        sync_identifier: None,
        sync_version: None,
        metadata: HashMap::new(),
    }
}

fn synced(version: i64, id: u128, hour: u32) -> Sample {
    Sample {
        sync_identifier: Some("hk-1".into()),
        sync_version: Some(version),
        ..sample(id, hour, 10.0)
    }
}

fn recorded(samples: Vec<Sample>) -> UserEvent {
    UserEvent::SamplesRecorded(SamplesRecorded {
        event_id: Uuid::new_v4().to_string(),
        user_id: USER.to_string(),
        device_id: DEVICE.to_string(),
        recorded_at: 0,
        samples,
    })
}

fn deleted(ids: &[u128]) -> UserEvent {
    UserEvent::SamplesDeleted(SamplesDeleted {
        event_id: Uuid::new_v4().to_string(),
        user_id: USER.to_string(),
        sample_ids: ids
            .iter()
            .map(|i| Uuid::from_u128(*i).to_string())
            .collect(),
        deleted_at: 0,
    })
}

/// The events as the projection receives them: through the one conversion.
fn typed(events: &[UserEvent]) -> Vec<typed::UserEvent> {
    events.iter().map(|e| e.to_typed().unwrap()).collect()
}

fn stored(id: u128, hour: u32, deleted: bool) -> KnownState {
    let mut known = KnownState::default();
    known.samples.insert(
        (USER, Uuid::from_u128(id)),
        IndexEntry {
            sample_type: "STEPS".into(),
            start: at(hour),
            end: at(hour + 1),
            deleted,
        },
    );
    known
}

fn inserted_values(plan: &Plan) -> Vec<f64> {
    plan.inserts.iter().map(|r| r.value).collect()
}

#[test]
fn the_first_occurrence_of_an_id_wins_within_a_batch() {
    let events = vec![
        recorded(vec![sample(7, 8, 100.0)]),
        recorded(vec![sample(7, 9, 999.0)]),
    ];
    let plan = build(&typed(&events), KnownState::default());
    assert_eq!(inserted_values(&plan), vec![100.0]);
    assert_eq!(plan.index_inserts.len(), 1);
    assert!(plan.tombstones.is_empty());
}

#[test]
fn an_id_already_stored_is_ignored() {
    let plan = build(
        &typed(&[recorded(vec![sample(7, 8, 100.0)])]),
        stored(7, 8, false),
    );
    assert!(plan.inserts.is_empty());
    assert!(
        plan.windows.is_empty(),
        "nothing changed, nothing to recompute"
    );
}

#[test]
fn deleting_a_stored_sample_removes_it_and_leaves_a_tombstone() {
    let plan = build(&typed(&[deleted(&[7, 8])]), stored(7, 8, false));
    assert_eq!(plan.deletes, vec![(USER, Uuid::from_u128(7), at(8))]);
    assert!(plan.index_inserts.is_empty());
    assert_eq!(plan.tombstones, vec![(USER, Uuid::from_u128(7))]);
    let window = plan.windows[&(USER, SampleType::Steps)];
    assert_eq!((window.from, window.to), (at(8), at(9)));
}

#[test]
fn a_sample_recorded_and_deleted_in_one_batch_is_never_stored_and_stays_deleted() {
    let events = vec![
        recorded(vec![sample(7, 8, 100.0)]),
        deleted(&[7]),
        recorded(vec![sample(7, 8, 100.0)]),
    ];
    let plan = build(&typed(&events), KnownState::default());
    assert!(plan.inserts.is_empty());
    assert!(plan.deletes.is_empty());
    assert!(plan.tombstones.is_empty());
    assert_eq!(plan.index_inserts.len(), 1);
    assert!(
        plan.index_inserts[0].2.deleted,
        "the tombstone keeps a re-send out"
    );
}

#[test]
fn a_re_sent_deleted_sample_stays_deleted() {
    let plan = build(
        &typed(&[recorded(vec![sample(7, 8, 100.0)])]),
        stored(7, 8, true),
    );
    assert!(plan.inserts.is_empty());
}

#[test]
fn a_higher_sync_version_replaces_and_a_lower_or_equal_one_is_ignored() {
    let events = vec![
        recorded(vec![synced(1, 1, 8)]),
        recorded(vec![synced(3, 3, 9)]),
        recorded(vec![synced(2, 2, 10)]),
        recorded(vec![synced(3, 4, 11)]),
    ];
    let plan = build(&typed(&events), KnownState::default());
    let ids: Vec<Uuid> = plan.inserts.iter().map(|r| r.sample_id).collect();
    assert_eq!(
        ids,
        vec![Uuid::from_u128(3)],
        "version 3 replaced 1; 2 and another 3 ignored"
    );
    assert_eq!(
        plan.sync_writes[&(USER, "hk-1".to_string())],
        (3, Uuid::from_u128(3))
    );
    let window = plan.windows[&(USER, SampleType::Steps)];
    assert_eq!(
        (window.from, window.to),
        (at(8), at(10)),
        "the replaced hour is recomputed too"
    );
}

#[test]
fn a_replacement_of_a_stored_version_deletes_the_stored_sample() {
    let mut known = stored(1, 8, false);
    known
        .sync_versions
        .insert((USER, "hk-1".into()), (1, Uuid::from_u128(1)));
    let plan = build(&typed(&[recorded(vec![synced(2, 2, 12)])]), known);
    assert_eq!(plan.deletes, vec![(USER, Uuid::from_u128(1), at(8))]);
    assert_eq!(inserted_values(&plan), vec![10.0]);
}

#[test]
fn windows_span_every_touched_sample_of_a_type() {
    let events = vec![recorded(vec![
        sample(1, 14, 1.0),
        sample(2, 3, 1.0),
        sample(3, 9, 1.0),
    ])];
    let plan = build(&typed(&events), KnownState::default());
    let window = plan.windows[&(USER, SampleType::Steps)];
    assert_eq!((window.from, window.to), (at(3), at(15)));
}

#[test]
fn zone_and_priority_changes_mark_what_to_recompute() {
    let events = vec![
        UserEvent::UserTimeZoneChanged(UserTimeZoneChanged {
            event_id: Uuid::new_v4().to_string(),
            user_id: USER.to_string(),
            timezone: "Asia/Kolkata".into(),
            previous_timezone: "UTC".into(),
            changed_at: 0,
        }),
        UserEvent::DevicePriorityChanged(DevicePriorityChanged {
            event_id: Uuid::new_v4().to_string(),
            user_id: USER.to_string(),
            device_id: DEVICE.to_string(),
            priority: 5,
            type_priorities: HashMap::from([("STEPS".into(), 7)]),
            changed_at: 0,
        }),
    ];
    let plan = build(&typed(&events), KnownState::default());
    assert!(plan.rebucket_users.contains(&USER));
    assert_eq!(plan.profiles[&USER], "Asia/Kolkata");
    assert!(plan.reranked_devices.contains(&(USER, DEVICE)));
    assert_eq!(plan.devices[&(USER, DEVICE)].priority, 5);
    assert_eq!(plan.devices[&(USER, DEVICE)].type_priorities["STEPS"], 7);
}

/// Samples ending on or before the retention horizon are left out as if never sent, so a
/// replay after a retention run writes what the live database kept (see
/// `healthpipe_domain::retention`).
#[test]
fn samples_beyond_the_retention_horizon_are_left_out() {
    let events = [recorded(vec![sample(1, 8, 10.0), sample(2, 9, 20.0)])];
    // Sample 1 covers 08:00-09:00, sample 2 09:00-10:00; the horizon falls at 09:00.
    let horizons = Horizons {
        samples: at(9),
        ..Horizons::on(chrono::NaiveDate::from_ymd_opt(2033, 5, 4).unwrap())
    };
    let plan = Plan::build(&typed(&events), KnownState::default(), &horizons);
    let ids: Vec<Uuid> = plan.inserts.iter().map(|r| r.sample_id).collect();
    assert_eq!(ids, vec![Uuid::from_u128(2)]);
    assert_eq!(plan.index_inserts.len(), 1);
    assert_eq!(plan.windows[&(USER, SampleType::Steps)].from, at(9));
}
