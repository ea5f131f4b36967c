use chrono::TimeZone;

use super::*;

const WATCH: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

#[test]
fn hyphenated_ids_parse_and_display_in_lower_case() {
    let id: DeviceId = WATCH.parse().unwrap();
    assert_eq!(id.to_string(), WATCH);
    let upper: DeviceId = WATCH.to_uppercase().parse().unwrap();
    assert_eq!(upper, id, "either case parses to the same id");
    assert_eq!(upper.to_string(), WATCH);
    assert_eq!(String::from(id), WATCH);
    assert_eq!(Uuid::from(id), Uuid::parse_str(WATCH).unwrap());
    assert_eq!(DeviceId::from(Uuid::parse_str(WATCH).unwrap()), id);
}

#[test]
fn malformed_ids_name_the_kind_that_failed() {
    let simple = WATCH.replace('-', "");
    let braced = format!("{{{WATCH}}}");
    for text in [
        "",
        "watch",
        "0f8fad5b-d9cb-469f-a165-70867728950",
        &simple,
        &braced,
    ] {
        assert_eq!(
            text.parse::<UserId>(),
            Err(InvalidId { kind: IdKind::User })
        );
    }
    let err = "0f8fad5b-d9cb-469f-a165-70867728950z"
        .parse::<SampleId>()
        .unwrap_err();
    assert_eq!(err.kind, IdKind::Sample);
    assert_eq!(err.to_string(), "sample id is not a hyphenated UUID");
    assert_eq!(
        EventId::parse("x").unwrap_err().to_string(),
        "event id is not a hyphenated UUID"
    );
}

#[test]
fn serde_is_the_plain_string_and_parses_like_from_str() {
    let id: EventId = WATCH.parse().unwrap();
    let json = serde_json::to_string(&id).unwrap();
    assert_eq!(json, format!("\"{WATCH}\""));
    assert_eq!(serde_json::from_str::<EventId>(&json).unwrap(), id);
    let simple = format!("\"{}\"", WATCH.replace('-', ""));
    let err = serde_json::from_str::<EventId>(&simple).unwrap_err();
    assert!(err.to_string().contains("event id"), "{err}");
}

#[test]
fn order_matches_the_order_of_the_id_strings() {
    let texts = [
        "ffffffff-0000-4000-8000-000000000000",
        "00000000-0000-4000-8000-00000000000a",
        "a0000000-0000-4000-8000-000000000000",
        "00000000-0000-4000-8000-000000000009",
    ];
    let mut ids: Vec<DeviceId> = texts.iter().map(|t| t.parse().unwrap()).collect();
    ids.sort();
    let mut sorted = texts.to_vec();
    sorted.sort();
    let back: Vec<String> = ids.iter().map(ToString::to_string).collect();
    assert_eq!(back, sorted);
}

#[test]
fn derived_sample_ids_are_stable_and_depend_on_every_part() {
    let user: UserId = "6f1c1a53-3c39-4a5d-9d1e-2d0f5a1b7c01".parse().unwrap();
    let device: DeviceId = WATCH.parse().unwrap();
    let start = Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap();
    let end = Utc.with_ymd_and_hms(2026, 5, 4, 10, 30, 0).unwrap();
    let id = SampleId::derive(user, device, SampleType::Steps, start, end, 600.0);
    let name = format!(
        "{user}|{device}|STEPS|{}|{}|{}",
        start.timestamp_micros(),
        end.timestamp_micros(),
        600.0f64.to_bits()
    );
    assert_eq!(
        *id.as_uuid(),
        Uuid::new_v5(&SAMPLE_ID_NAMESPACE, name.as_bytes())
    );
    assert_eq!(id.as_uuid().get_version_num(), 5);
    assert_eq!(
        id,
        SampleId::derive(user, device, SampleType::Steps, start, end, 600.0)
    );
    assert_ne!(
        id,
        SampleId::derive(user, device, SampleType::Steps, start, end, 601.0)
    );
    assert_ne!(
        id,
        SampleId::derive(user, device, SampleType::Distance, start, end, 600.0)
    );
}

#[test]
fn typed_ids_and_priorities_feed_the_string_keyed_ranking() {
    use crate::{DeviceRanking, Priority};
    let watch: DeviceId = WATCH.parse().unwrap();
    let phone: DeviceId = "1f8fad5b-d9cb-469f-a165-70867728950e".parse().unwrap();
    let mut ranking = DeviceRanking::new();
    ranking
        .set_priority(watch, Priority::new(100).into())
        .set_priority(phone, Priority::new(80).into());
    assert_eq!(
        ranking.effective_priority(&watch.to_string(), SampleType::Steps),
        Some(100)
    );
    assert_eq!(
        ranking.compare(SampleType::Steps, &watch.to_string(), &phone.to_string()),
        std::cmp::Ordering::Less,
        "the higher priority ranks first"
    );
}

#[test]
fn parse_uuid_takes_the_hyphenated_form_only() {
    assert_eq!(parse_uuid(WATCH), Some(Uuid::parse_str(WATCH).unwrap()));
    assert_eq!(parse_uuid(&WATCH.to_uppercase()), parse_uuid(WATCH));
    assert_eq!(parse_uuid(&WATCH.replace('-', "")), None);
    assert_eq!(parse_uuid(&format!("urn:uuid:{WATCH}")), None);
}

#[test]
fn derived_ids_of_a_valid_sample_use_its_canonical_value() {
    use crate::{validate, RawSample};
    let user: UserId = "6f1c1a53-3c39-4a5d-9d1e-2d0f5a1b7c01".parse().unwrap();
    let device: DeviceId = WATCH.parse().unwrap();
    let at = |s| chrono::DateTime::parse_from_rfc3339(s).unwrap();
    let raw = RawSample {
        sample_type: "DISTANCE",
        value: 1.5,
        unit: "km",
        start: at("2026-05-04T12:00:00+02:00"),
        end: at("2026-05-04T12:30:00+02:00"),
    };
    let now = Utc.with_ymd_and_hms(2026, 5, 5, 0, 0, 0).unwrap();
    let valid = validate(&raw, now).unwrap();
    assert_eq!(
        SampleId::derive_for(user, device, &valid),
        SampleId::derive(
            user,
            device,
            SampleType::Distance,
            Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 5, 4, 10, 30, 0).unwrap(),
            1500.0
        )
    );
}
