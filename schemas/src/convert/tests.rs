//! Every event round-trips wire → typed → wire unchanged; every kind of malformed field
//! gives an error naming the event, the field and why, and never the field's value.

use std::collections::HashMap;

use healthpipe_domain::{DeviceType, Period, Priority, SampleId, Severity};

use super::*;

const EVENT: &str = "5d3c1e84-2f0a-4b8e-9c41-7a6b0e2d9f10";
const USER: &str = "6f1c1a53-3c39-4a5d-9d1e-2d0f5a1b7c01";
const DEVICE: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";
const OTHER: &str = "9a7e2c55-1b3d-4f6e-8a90-b1c2d3e4f506";
/// 2026-05-04T10:00:00Z in microseconds.
const T: i64 = 1_777_888_800_000_000;

fn sample(sample_type: &str, unit: &str, value: f64) -> wire::Sample {
    wire::Sample {
        sample_id: OTHER.into(),
        sample_type: sample_type.into(),
        value,
        unit: unit.into(),
        start_time: T,
        end_time: T + 1_800_000_000,
        utc_offset_seconds: 7_200,
        source_app: Some("Health".into()),
        sync_identifier: Some("hk-1".into()),
        sync_version: Some(3),
        metadata: HashMap::from([("HKWasUserEntered".into(), "0".into())]),
    }
}

fn samples_recorded() -> wire::SamplesRecorded {
    wire::SamplesRecorded {
        event_id: EVENT.into(),
        user_id: USER.into(),
        device_id: DEVICE.into(),
        recorded_at: T + 3_600_000_000,
        samples: vec![
            sample("STEPS", "count", 612.0),
            sample("HEART_RATE", "bpm", 71.5),
        ],
    }
}

fn device_registered() -> wire::DeviceRegistered {
    wire::DeviceRegistered {
        event_id: EVENT.into(),
        user_id: USER.into(),
        device_id: DEVICE.into(),
        device_type: "apple_watch".into(),
        priority: 100,
        type_priorities: HashMap::from([("HEART_RATE".into(), 120)]),
        registered_at: T,
    }
}

fn share_granted() -> wire::ShareGranted {
    wire::ShareGranted {
        event_id: EVENT.into(),
        user_id: USER.into(),
        share_id: OTHER.into(),
        recipient_email: "dr.who@example.org".into(),
        sample_types: vec!["STEPS".into(), "WEIGHT".into()],
        date_start: "2026-10-01".into(),
        date_end: "2026-10-31".into(),
        expires_at: T + 7,
        label: "Dr Who".into(),
        code_digest: "00".repeat(32),
        granted_at: T,
    }
}

fn aggregates_updated() -> wire::AggregatesUpdated {
    wire::AggregatesUpdated {
        event_id: EVENT.into(),
        user_id: USER.into(),
        buckets: vec![
            wire::AggregateBucket {
                sample_type: "STEPS".into(),
                period: "day".into(),
                period_start: T,
                value: Some(8_000.0),
                sample_count: 12,
                min_value: Some(10.0),
                max_value: Some(900.0),
            },
            wire::AggregateBucket {
                sample_type: "WEIGHT".into(),
                period: "month".into(),
                period_start: T,
                value: None,
                sample_count: 0,
                min_value: None,
                max_value: None,
            },
        ],
        timezone: Some("Europe/Berlin".into()),
        observed_at: Some(T),
    }
}

fn insight_raised() -> wire::InsightRaised {
    wire::InsightRaised {
        event_id: EVENT.into(),
        user_id: USER.into(),
        insight_id: OTHER.into(),
        insight_type: "HEART_RATE_TREND".into(),
        severity: "warning".into(),
        status: "active".into(),
        message: "Resting heart rate rose".into(),
        data_json: "{}".into(),
        raised_at: T,
        direction: Some("up".into()),
        recommendation: "Rest".into(),
        rule_key: "HEART_RATE_TREND/2026-W19".into(),
    }
}

/// One of every event on the per-user stream.
fn user_events() -> Vec<wire::UserEvent> {
    vec![
        wire::UserEvent::SamplesRecorded(samples_recorded()),
        wire::UserEvent::SamplesDeleted(wire::SamplesDeleted {
            event_id: EVENT.into(),
            user_id: USER.into(),
            sample_ids: vec![OTHER.into(), DEVICE.into()],
            deleted_at: T,
        }),
        wire::UserEvent::UserRegistered(wire::UserRegistered {
            event_id: EVENT.into(),
            user_id: USER.into(),
            timezone: "America/New_York".into(),
            registered_at: T,
        }),
        wire::UserEvent::UserTimeZoneChanged(wire::UserTimeZoneChanged {
            event_id: EVENT.into(),
            user_id: USER.into(),
            timezone: "Asia/Kolkata".into(),
            previous_timezone: "UTC".into(),
            changed_at: T,
        }),
        wire::UserEvent::DeviceRegistered(device_registered()),
        wire::UserEvent::DevicePriorityChanged(wire::DevicePriorityChanged {
            event_id: EVENT.into(),
            user_id: USER.into(),
            device_id: DEVICE.into(),
            priority: -5,
            type_priorities: HashMap::new(),
            changed_at: T,
        }),
        wire::UserEvent::ShareGranted(share_granted()),
        wire::UserEvent::ShareRedeemed(wire::ShareRedeemed {
            event_id: EVENT.into(),
            user_id: USER.into(),
            share_id: OTHER.into(),
            provider_id: DEVICE.into(),
            redeemed_at: T,
        }),
        wire::UserEvent::ShareRevoked(wire::ShareRevoked {
            event_id: EVENT.into(),
            user_id: USER.into(),
            share_id: OTHER.into(),
            revoked_at: T,
        }),
        wire::UserEvent::InsightAcknowledged(wire::InsightAcknowledged {
            event_id: EVENT.into(),
            user_id: USER.into(),
            insight_id: OTHER.into(),
            acknowledged_at: T,
        }),
    ]
}

#[test]
fn every_user_event_round_trips() {
    for event in user_events() {
        let typed = event.to_typed().unwrap();
        assert_eq!(typed.user_id().to_string(), USER);
        assert_eq!(typed.event_id().to_string(), EVENT);
        assert_eq!(wire::UserEvent::from(&typed), event);
    }
}

#[test]
fn aggregates_updated_and_insight_raised_round_trip() {
    let e = aggregates_updated();
    let typed = typed::AggregatesUpdated::try_from(&e).unwrap();
    assert_eq!(typed.buckets[0].period, Period::Day);
    assert_eq!(typed.timezone, Some(chrono_tz::Europe::Berlin));
    assert_eq!(wire::AggregatesUpdated::from(&typed), e);

    let tick = wire::AggregatesUpdated {
        buckets: vec![],
        timezone: None,
        observed_at: None,
        ..aggregates_updated()
    };
    let typed = typed::AggregatesUpdated::try_from(&tick).unwrap();
    assert_eq!(wire::AggregatesUpdated::from(&typed), tick);

    let e = insight_raised();
    let typed = typed::InsightRaised::try_from(&e).unwrap();
    assert_eq!(typed.severity, Severity::Warning);
    assert_eq!(wire::InsightRaised::from(&typed), e);
    let quiet = wire::InsightRaised {
        direction: None,
        ..insight_raised()
    };
    let typed = typed::InsightRaised::try_from(&quiet).unwrap();
    assert_eq!(wire::InsightRaised::from(&typed), quiet);
}

#[test]
fn typed_values_are_the_domain_types() {
    let typed = typed::SamplesRecorded::try_from(&samples_recorded()).unwrap();
    let s = &typed.samples[1];
    assert_eq!(s.sample_type, SampleType::HeartRate);
    assert_eq!(s.sample_id, OTHER.parse::<SampleId>().unwrap());
    assert_eq!(s.start_time.to_rfc3339(), "2026-05-04T10:00:00+00:00");
    assert_eq!(s.utc_offset.local_minus_utc(), 7_200);
    let domain: Vec<_> = typed.domain_samples().collect();
    assert_eq!(domain[0].device_id, DEVICE);
    assert_eq!(domain[0].id, OTHER);
    assert_eq!(domain[0].value, 612.0);

    let device = typed::DeviceRegistered::try_from(&device_registered()).unwrap();
    assert_eq!(device.device_type, DeviceType::AppleWatch);
    assert_eq!(device.priority, Priority::new(100));
    let ranking = device.device_priority();
    assert_eq!(ranking.priority, 100);
    assert_eq!(ranking.type_priorities[&SampleType::HeartRate], 120);

    let share = typed::ShareGranted::try_from(&share_granted()).unwrap();
    assert_eq!(share.recipient_email, "dr.who@example.org");
    assert_eq!(share.sample_types, [SampleType::Steps, SampleType::Weight]);
    assert_eq!(share.date_end.to_string(), "2026-10-31");
}

/// Asserts the error names `event`, `field` and `failure`, and shows none of `hidden`.
#[track_caller]
fn assert_fails(
    result: Result<impl std::fmt::Debug, ConversionError>,
    event: &str,
    field: &str,
    failure: ConversionFailure,
    hidden: &[&str],
) {
    let err = result.unwrap_err();
    assert_eq!(
        (err.event, err.field.as_str(), err.failure),
        (event, field, failure)
    );
    let text = err.to_string();
    assert!(text.starts_with(event), "{text}");
    assert!(text.contains(&format!("`{field}`")), "{text}");
    for value in hidden {
        assert!(!text.contains(value), "{text} shows {value}");
    }
}

#[test]
fn malformed_ids_name_their_field() {
    let mut e = samples_recorded();
    e.user_id = "not-a-uuid".into();
    assert_fails(
        typed::SamplesRecorded::try_from(&e),
        "SamplesRecorded",
        "user_id",
        ConversionFailure::MalformedId,
        &["not-a-uuid"],
    );

    let mut e = samples_recorded();
    e.samples[1].sample_id = OTHER.replace('-', "");
    let err = typed::SamplesRecorded::try_from(&e).unwrap_err();
    assert_eq!(err.field, "samples[1].sample_id");
    assert_eq!(err.event_id.unwrap().to_string(), EVENT);
    assert_eq!(err.code(), "malformed_id");
    assert_eq!(
        err.to_string(),
        format!(
            "SamplesRecorded event {EVENT}: field `samples[1].sample_id` is not a hyphenated UUID"
        )
    );

    let mut e = samples_recorded();
    e.event_id = "x".into();
    let err = typed::SamplesRecorded::try_from(&e).unwrap_err();
    assert_eq!((err.field.as_str(), err.event_id), ("event_id", None));
    assert!(err.to_string().contains("id unreadable"), "{err}");

    let deleted = wire::SamplesDeleted {
        event_id: EVENT.into(),
        user_id: USER.into(),
        sample_ids: vec![OTHER.into(), "42".into()],
        deleted_at: T,
    };
    assert_fails(
        typed::SamplesDeleted::try_from(&deleted),
        "SamplesDeleted",
        "sample_ids[1]",
        ConversionFailure::MalformedId,
        &["42"],
    );

    let mut share = share_granted();
    share.share_id = "share-7".into();
    assert_fails(
        typed::ShareGranted::try_from(&share),
        "ShareGranted",
        "share_id",
        ConversionFailure::MalformedId,
        &["share-7"],
    );
}

#[test]
fn unknown_device_type_names_the_field() {
    let mut e = device_registered();
    e.device_type = "garmin_fenix".into();
    assert_fails(
        typed::DeviceRegistered::try_from(&e),
        "DeviceRegistered",
        "device_type",
        ConversionFailure::UnknownDeviceType,
        &["garmin"],
    );
    let err = wire::UserEvent::DeviceRegistered(e).to_typed().unwrap_err();
    assert_eq!(err.code(), "unknown_device_type");
}

#[test]
fn unknown_sample_types_name_the_field() {
    let mut e = samples_recorded();
    e.samples[1].sample_type = "HEART_RATE_V2".into();
    assert_fails(
        typed::SamplesRecorded::try_from(&e),
        "SamplesRecorded",
        "samples[1].sample_type",
        ConversionFailure::UnknownSampleType,
        &["HEART_RATE_V2", "71.5"],
    );

    let mut e = device_registered();
    e.type_priorities.insert("heart_rate".into(), 1);
    assert_fails(
        typed::DeviceRegistered::try_from(&e),
        "DeviceRegistered",
        "type_priorities[key]",
        ConversionFailure::UnknownSampleType,
        &["heart_rate"],
    );

    let mut e = share_granted();
    e.date_end = "31/10/2026".into();
    assert_fails(
        typed::ShareGranted::try_from(&e),
        "ShareGranted",
        "date_end",
        ConversionFailure::NotADate,
        &["31/10/2026"],
    );

    let mut e = share_granted();
    e.sample_types[0] = "MOOD".into();
    assert_fails(
        typed::ShareGranted::try_from(&e),
        "ShareGranted",
        "sample_types[0]",
        ConversionFailure::UnknownSampleType,
        &["MOOD"],
    );

    let mut e = aggregates_updated();
    e.buckets[1].sample_type = "MOOD".into();
    assert_fails(
        typed::AggregatesUpdated::try_from(&e),
        "AggregatesUpdated",
        "buckets[1].sample_type",
        ConversionFailure::UnknownSampleType,
        &["MOOD"],
    );
}

#[test]
fn values_units_times_and_zones_are_checked_without_showing_them() {
    let mut e = samples_recorded();
    e.samples[0].value = f64::NAN;
    assert_fails(
        typed::SamplesRecorded::try_from(&e),
        "SamplesRecorded",
        "samples[0].value",
        ConversionFailure::NotFinite,
        &["NaN"],
    );

    let mut e = samples_recorded();
    e.samples[1].unit = "count/min".into();
    assert_fails(
        typed::SamplesRecorded::try_from(&e),
        "SamplesRecorded",
        "samples[1].unit",
        ConversionFailure::NotCanonicalUnit,
        &["count/min", "71.5"],
    );

    let mut e = samples_recorded();
    e.samples[0].end_time = i64::MAX;
    assert_fails(
        typed::SamplesRecorded::try_from(&e),
        "SamplesRecorded",
        "samples[0].end_time",
        ConversionFailure::TimeOutOfRange,
        &[&i64::MAX.to_string()],
    );

    let mut e = samples_recorded();
    e.samples[0].utc_offset_seconds = 86_400;
    assert_fails(
        typed::SamplesRecorded::try_from(&e),
        "SamplesRecorded",
        "samples[0].utc_offset_seconds",
        ConversionFailure::OffsetOutOfRange,
        &["86400"],
    );

    let changed = wire::UserTimeZoneChanged {
        event_id: EVENT.into(),
        user_id: USER.into(),
        timezone: "Europe/Berlin".into(),
        previous_timezone: "Mars/Olympus".into(),
        changed_at: T,
    };
    assert_fails(
        typed::UserTimeZoneChanged::try_from(&changed),
        "UserTimeZoneChanged",
        "previous_timezone",
        ConversionFailure::UnknownTimeZone,
        &["Mars"],
    );

    let mut e = aggregates_updated();
    e.buckets[0].period = "fortnight".into();
    assert_fails(
        typed::AggregatesUpdated::try_from(&e),
        "AggregatesUpdated",
        "buckets[0].period",
        ConversionFailure::UnknownPeriod,
        &["fortnight"],
    );

    let mut e = insight_raised();
    e.severity = "severe".into();
    assert_fails(
        typed::InsightRaised::try_from(&e),
        "InsightRaised",
        "severity",
        ConversionFailure::UnknownSeverity,
        &["severe", "Resting heart rate"],
    );
}
