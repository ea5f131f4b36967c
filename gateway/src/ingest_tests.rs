use chrono::TimeZone;
use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 4, 12, 0, 0).unwrap()
}

fn ids() -> (Uuid, Uuid) {
    (
        Uuid::from_u128(0x1111_2222_3333_4444_5555_6666_7777_8888),
        Uuid::from_u128(0x9999_aaaa_bbbb_cccc_dddd_eeee_ffff_0000),
    )
}

fn parse(body: &[u8]) -> Result<ParsedSync, ApiError> {
    let (user, device) = ids();
    parse_sync(body, user, device, now())
}

fn steps(value: f64) -> Value {
    json!({"type": "STEPS", "value": value, "unit": "count",
           "start_date": "2026-05-04T08:00:00Z", "end_date": "2026-05-04T08:10:00Z"})
}

#[test]
fn valid_and_invalid_samples_are_sorted_by_index_with_codes() {
    let body = json!({"samples": [
        steps(10.0),
        {"type": "PULSE", "value": 1, "unit": "bpm",
         "start_date": "2026-05-04T08:00:00Z", "end_date": "2026-05-04T08:00:00Z"},
        {"type": "STEPS", "value": 1, "unit": "count", "colour": "red",
         "start_date": "2026-05-04T08:00:00Z", "end_date": "2026-05-04T08:00:00Z"},
        {"id": "nope", "type": "STEPS", "value": 1, "unit": "count",
         "start_date": "2026-05-04T08:00:00Z", "end_date": "2026-05-04T08:00:00Z"},
        {"type": "STEPS", "value": 1, "unit": "count", "metadata": {"sync_version": "x"},
         "start_date": "2026-05-04T08:00:00Z", "end_date": "2026-05-04T08:00:00Z"},
        steps(-1.0),
    ]});
    let parsed = parse(body.to_string().as_bytes()).unwrap();
    assert_eq!(parsed.accepted.len(), 1);
    let codes: Vec<(usize, &str)> = parsed.rejected.iter().map(|r| (r.index, r.code)).collect();
    assert_eq!(
        codes,
        vec![
            (1, "unknown_type"),
            (2, MALFORMED_SAMPLE),
            (3, INVALID_ID),
            (4, INVALID_SYNC_VERSION),
            (5, "value_out_of_range"),
        ]
    );
    assert!(!parsed.all_invalid());
    let response = serde_json::to_value(parsed.response()).unwrap();
    assert_eq!(response["synced"], 1);
    assert_eq!(response["errors"], 5);
    assert_eq!(response["error_details"][0]["index"], 1);
}

#[test]
fn body_level_errors_have_their_statuses() {
    match parse(b"{\"samples\": [") {
        Err(ApiError::BadRequest(m)) => assert!(m.contains("line 1 column"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(parse(b"{}"), Err(ApiError::Unprocessable(_))));
    assert!(matches!(
        parse(b"{\"samples\": 3}"),
        Err(ApiError::Unprocessable(_))
    ));
    let many = json!({"samples": vec![json!(1); MAX_SAMPLES_PER_SYNC + 1]});
    assert!(matches!(
        parse(many.to_string().as_bytes()),
        Err(ApiError::PayloadTooLarge(_))
    ));
}

#[test]
fn ids_are_derived_stably_or_kept() {
    let a = parse(json!({"samples": [steps(5.0)]}).to_string().as_bytes()).unwrap();
    let b = parse(json!({"samples": [steps(5.0)]}).to_string().as_bytes()).unwrap();
    let c = parse(json!({"samples": [steps(6.0)]}).to_string().as_bytes()).unwrap();
    assert_eq!(a.accepted[0].sample_id, b.accepted[0].sample_id);
    assert_ne!(a.accepted[0].sample_id, c.accepted[0].sample_id);
    let id = "0b7c6d0e-2f1a-4b3c-8d9e-0f1a2b3c4d5e";
    let mut sample = steps(5.0);
    sample["id"] = json!(id);
    let kept = parse(json!({"samples": [sample]}).to_string().as_bytes()).unwrap();
    assert_eq!(kept.accepted[0].sample_id, id);
}

#[test]
fn units_are_converted_to_canonical() {
    let body = json!({"samples": [{"type": "WEIGHT", "value": 176, "unit": "lb",
        "start_date": "2026-05-04T08:00:00+02:00", "end_date": "2026-05-04T08:00:00+02:00"}]});
    let parsed = parse(body.to_string().as_bytes()).unwrap();
    let s = &parsed.accepted[0];
    assert_eq!(s.unit, "kg");
    assert!((s.value - 79.832_257_12).abs() < 1e-6);
    assert_eq!(s.utc_offset_seconds, 7200);
}

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::hash_map(".{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Timestamps near and far from the accepted window, in several spellings.
fn any_date() -> impl Strategy<Value = Value> {
    prop_oneof![
        (1i32..9999, 1u32..13, 1u32..29, 0u32..24, -14i32..15).prop_map(|(y, mo, d, h, off)| {
            Value::String(format!("{y:04}-{mo:02}-{d:02}T{h:02}:00:00{off:+03}:00"))
        }),
        (0i64..200_000_000).prop_map(|m| {
            let t = Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap()
                + chrono::TimeDelta::seconds(m * 10);
            Value::String(t.to_rfc3339())
        }),
        ".{0,30}".prop_map(Value::String),
        any_json(),
    ]
}

/// Objects shaped like samples, each field sometimes right, sometimes anything.
fn sample_like() -> impl Strategy<Value = Value> {
    let types = prop_oneof![
        prop::sample::select(
            healthpipe_domain::SampleType::all()
                .map(|t| t.as_str().to_string())
                .collect::<Vec<_>>()
        )
        .prop_map(Value::String),
        any_json(),
    ];
    let units = prop_oneof![
        prop::sample::select(vec![
            "count", "count", "bpm", "kg", "m", "km", "mi", "kcal", "kJ", "min", "h", "s", "bpm",
            "ms", "mg/dL", "mmol/L", "%", "fraction", "degC", "degF", "mmHg", "kg", "lb", "st",
            "g",
        ])
        .prop_map(|u| Value::String(u.into())),
        any_json(),
    ];
    let values = prop_oneof![
        any::<f64>().prop_map(Value::from),
        (0.0f64..1000.0).prop_map(Value::from),
        any_json(),
    ];
    let ids = prop_oneof![
        Just(None),
        Just(Some(json!("0b7c6d0e-2f1a-4b3c-8d9e-0f1a2b3c4d5e"))),
        any_json().prop_map(Some),
    ];
    let metadata = prop_oneof![
        Just(None),
        any_json().prop_map(Some),
        ".{0,6}".prop_map(|v| Some(json!({"sync_identifier": "a", "sync_version": v}))),
    ];
    // Mostly a coherent start and end near now, sometimes two unrelated timestamps.
    let times = prop_oneof![
        3 => (0i64..3_000_000, 0i64..100_000).prop_map(|(ago, length)| {
            let start = now() - chrono::TimeDelta::seconds(ago);
            let end = start + chrono::TimeDelta::seconds(length);
            (Value::String(start.to_rfc3339()), Value::String(end.to_rfc3339()))
        }),
        1 => (any_date(), any_date()),
    ];
    (types, values, units, times, ids, metadata).prop_map(
        |(t, v, u, (start, end), id, metadata)| {
            let mut s =
                json!({"type": t, "value": v, "unit": u, "start_date": start, "end_date": end});
            if let Some(id) = id {
                s["id"] = id;
            }
            if let Some(m) = metadata {
                s["metadata"] = m;
            }
            s
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse(&body);
    }

    #[test]
    fn arbitrary_json_never_panics(value in any_json()) {
        let _ = parse(value.to_string().as_bytes());
        let _ = parse(json!({"samples": [value]}).to_string().as_bytes());
    }

    #[test]
    fn every_sample_is_accepted_or_rejected_once_and_accepted_ones_are_sane(
        samples in prop::collection::vec(sample_like(), 0..12)
    ) {
        let n = samples.len();
        let parsed = parse(json!({"samples": samples}).to_string().as_bytes()).unwrap();
        prop_assert_eq!(parsed.accepted.len() + parsed.rejected.len(), n);
        let indices: Vec<usize> = parsed.rejected.iter().map(|r| r.index).collect();
        prop_assert!(indices.windows(2).all(|w| w[0] < w[1]));
        prop_assert!(indices.iter().all(|&i| i < n));
        prop_assert!(parsed.rejected.iter().all(|r| !r.message.is_empty()));
        let earliest = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap().timestamp_micros();
        let latest = (now() + chrono::TimeDelta::minutes(10)).timestamp_micros();
        for s in &parsed.accepted {
            prop_assert!(s.value.is_finite());
            prop_assert!(s.start_time <= s.end_time);
            prop_assert!(s.start_time >= earliest && s.end_time <= latest);
            prop_assert!(Uuid::parse_str(&s.sample_id).is_ok());
            prop_assert!(!s.source_app.as_deref().unwrap_or("").contains('\0'));
            prop_assert!(s.metadata.iter().all(|(k, v)| !k.contains('\0') && !v.contains('\0')));
        }
    }
}

#[test]
fn samples_beyond_the_limit_are_counted_without_being_kept_and_refused_whole() {
    let one = steps(1.0).to_string();
    let count = MAX_SAMPLES_PER_SYNC + 5;
    let body = format!(
        r#"{{"samples": [{}]}}"#,
        vec![one.as_str(); count].join(",")
    );
    let parsed: SyncBody = parse_object(body.as_bytes()).unwrap();
    assert_eq!(parsed.samples.total, count);
    assert_eq!(parsed.samples.kept.len(), MAX_SAMPLES_PER_SYNC);
    // Kept as slices of the body: nothing was built for them but the reference.
    assert_eq!(parsed.samples.kept[0].get(), one);
    match parse(body.as_bytes()) {
        Err(ApiError::PayloadTooLarge(message)) => {
            assert!(message.contains(&count.to_string()), "{message}")
        }
        other => panic!("expected a 413, got {other:?}"),
    }
}
