//! Keeps the Rust event types and the `.avsc` files from drifting apart: every event is
//! encoded from its Rust value with the schema read from the file, decoded back, and its
//! field names compared with the schema's, in both directions.

use std::collections::HashMap;

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::Schema;
use healthpipe_schemas::*;

fn sample() -> Sample {
    Sample {
        sample_id: "6f1c1e52-1b7e-4a8e-9a53-2f1f0e0f7a11".into(),
        sample_type: "STEPS".into(),
        value: 612.0,
        unit: "count".into(),
        start_time: 1_777_881_600_000_000,
        end_time: 1_777_883_400_000_000,
        utc_offset_seconds: 7200,
        source_app: Some("com.apple.health".into()),
        sync_identifier: Some("sync-1".into()),
        sync_version: Some(3),
        metadata: HashMap::from([("HKWasUserEntered".into(), "0".into())]),
    }
}

/// Encodes with the file's schema, decodes, and checks the round trip and the field names.
fn round_trip<E: Event + PartialEq + std::fmt::Debug>(event: E) {
    let schema = Schema::parse_str(E::CONTENT_SCHEMA).expect("schema parses");
    let value = apache_avro::to_value(&event).expect("to value");
    assert_same_fields(&schema, &value, E::FULL_NAME);
    let writer = GenericDatumWriter::builder(&schema).build().unwrap();
    let bytes = writer
        .write_value_to_vec(value)
        .expect("value fits the schema");
    let reader = GenericDatumReader::builder(&schema).build().unwrap();
    let decoded = reader.read_value(&mut bytes.as_slice()).unwrap();
    let back: E = apache_avro::from_value(&decoded).expect("decodes into the Rust type");
    assert_eq!(back, event, "{} does not round-trip", E::FULL_NAME);
}

/// Every record field of the schema is in the Rust value and vice versa, recursively.
fn assert_same_fields(schema: &Schema, value: &Value, path: &str) {
    match (schema, value) {
        (Schema::Record(record), Value::Record(fields)) => {
            let schema_names: Vec<&str> = record.fields.iter().map(|f| f.name.as_str()).collect();
            let value_names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(schema_names, value_names, "fields of {path} differ");
            for (field, (_, v)) in record.fields.iter().zip(fields) {
                assert_same_fields(&field.schema, v, &format!("{path}.{}", field.name));
            }
        }
        (Schema::Array(array), Value::Array(items)) => {
            assert!(
                !items.is_empty(),
                "{path}: give the example at least one item"
            );
            items
                .iter()
                .for_each(|v| assert_same_fields(&array.items, v, path));
        }
        (Schema::Record(_), other) => panic!("{path}: expected a record, got {other:?}"),
        _ => {}
    }
}

#[test]
fn every_event_round_trips_through_its_avsc() {
    let t = 1_777_900_000_000_000;
    round_trip(SamplesRecorded {
        event_id: "e1".into(),
        user_id: "u1".into(),
        device_id: "d1".into(),
        recorded_at: t,
        samples: vec![sample()],
    });
    round_trip(SamplesDeleted {
        event_id: "e2".into(),
        user_id: "u1".into(),
        sample_ids: vec!["s1".into()],
        deleted_at: t,
    });
    round_trip(UserRegistered {
        event_id: "e3".into(),
        user_id: "u1".into(),
        timezone: "Europe/Berlin".into(),
        registered_at: t,
    });
    round_trip(UserTimeZoneChanged {
        event_id: "e4".into(),
        user_id: "u1".into(),
        timezone: "Asia/Kolkata".into(),
        previous_timezone: "Europe/Berlin".into(),
        changed_at: t,
    });
    round_trip(DeviceRegistered {
        event_id: "e5".into(),
        user_id: "u1".into(),
        device_id: "d1".into(),
        device_type: "apple_watch".into(),
        priority: 100,
        type_priorities: HashMap::from([("HEART_RATE".into(), 120)]),
        registered_at: t,
    });
    round_trip(DevicePriorityChanged {
        event_id: "e6".into(),
        user_id: "u1".into(),
        device_id: "d1".into(),
        priority: 90,
        type_priorities: HashMap::new(),
        changed_at: t,
    });
    round_trip(ShareGranted {
        event_id: "e7".into(),
        user_id: "u1".into(),
        share_id: "sh1".into(),
        recipient_email: "dr@example.org".into(),
        sample_types: vec!["STEPS".into()],
        date_start: "2026-10-01".into(),
        date_end: "2026-10-31".into(),
        expires_at: t + 1,
        label: "Dr".into(),
        code_digest: "ab".repeat(32),
        granted_at: t,
    });
    round_trip(ShareRedeemed {
        event_id: "e7b".into(),
        user_id: "u1".into(),
        share_id: "sh1".into(),
        provider_id: "p1".into(),
        redeemed_at: t,
    });
    round_trip(ShareRevoked {
        event_id: "e8".into(),
        user_id: "u1".into(),
        share_id: "sh1".into(),
        revoked_at: t,
    });
    round_trip(InsightAcknowledged {
        event_id: "e9".into(),
        user_id: "u1".into(),
        insight_id: "i1".into(),
        acknowledged_at: t,
    });
    round_trip(AggregatesUpdated {
        event_id: "e10".into(),
        user_id: "u1".into(),
        buckets: vec![AggregateBucket {
            sample_type: "STEPS".into(),
            period: "day".into(),
            period_start: t,
            value: Some(1.5),
            sample_count: 2,
            min_value: Some(0.5),
            max_value: Some(1.0),
        }],
        timezone: Some("Europe/Berlin".into()),
        observed_at: Some(t),
    });
    round_trip(InsightRaised {
        event_id: "e11".into(),
        user_id: "u1".into(),
        insight_id: "i1".into(),
        insight_type: "LOW_OXYGEN".into(),
        severity: "critical".into(),
        status: "active".into(),
        message: "m".into(),
        data_json: "{}".into(),
        raised_at: t,
        direction: Some("down".into()),
        recommendation: "r".into(),
        rule_key: "LOW_OXYGEN/2026-11-27".into(),
    });
}

#[test]
fn every_avsc_file_is_a_documented_event() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("avro");
    assert_eq!(documented_records(&dir), 13, "one envelope per event type");
    assert_eq!(
        documented_records(&dir.join("content")),
        12,
        "one content per sealed event type"
    );
}

/// Every envelope's clear fields are fields of its content, of the same type, so a decrypted
/// event is complete on its own; the rest of the envelope is `sealed`.
#[test]
fn every_envelope_is_its_contents_clear_fields_and_the_ciphertext() {
    fn check<E: Event>() {
        let envelope: serde_json::Value = serde_json::from_str(E::SCHEMA).unwrap();
        let content: serde_json::Value = serde_json::from_str(E::CONTENT_SCHEMA).unwrap();
        let fields = envelope["fields"].as_array().unwrap();
        let names: Vec<&str> = fields.iter().map(|f| f["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            ["event_id", "user_id", E::CLEAR_TIME, "sealed"],
            "{}",
            E::FULL_NAME
        );
        for field in &fields[..3] {
            let twin = content["fields"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["name"] == field["name"])
                .unwrap_or_else(|| {
                    panic!("{}: {} not in the content", E::FULL_NAME, field["name"])
                });
            assert_eq!(
                twin["type"],
                field["type"],
                "{}.{}",
                E::FULL_NAME,
                field["name"]
            );
        }
        assert_eq!(fields[3]["type"], serde_json::json!(["null", "bytes"]));
        assert_eq!(
            format!(
                "{}.{}",
                content["namespace"].as_str().unwrap(),
                content["name"].as_str().unwrap()
            ),
            E::CONTENT_NAME
        );
    }
    check::<SamplesRecorded>();
    check::<SamplesDeleted>();
    check::<UserRegistered>();
    check::<UserTimeZoneChanged>();
    check::<DeviceRegistered>();
    check::<DevicePriorityChanged>();
    check::<ShareGranted>();
    check::<ShareRedeemed>();
    check::<ShareRevoked>();
    check::<InsightAcknowledged>();
    check::<AggregatesUpdated>();
    check::<InsightRaised>();
}

/// Checks every `.avsc` file in `dir` (not below it); returns how many there are.
fn documented_records(dir: &std::path::Path) -> usize {
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let full = format!(
            "{}.{}",
            json["namespace"].as_str().unwrap(),
            json["name"].as_str().unwrap()
        );
        assert_eq!(
            path.file_stem().unwrap().to_str().unwrap(),
            full,
            "file named after its record"
        );
        assert!(json["doc"].is_string(), "{full} has no doc");
        assert_documented(&json, &full);
        Schema::parse_str(&text).unwrap_or_else(|e| panic!("{full}: {e}"));
        count += 1;
    }
    count
}

fn assert_documented(record: &serde_json::Value, path: &str) {
    for field in record["fields"].as_array().expect("record fields") {
        let name = field["name"].as_str().unwrap();
        let items = &field["type"]["items"];
        if items["type"] == "record" {
            assert_documented(items, &format!("{path}.{name}"));
        }
        if items["type"] != "record" || field["doc"].is_string() {
            assert!(field["doc"].is_string(), "{path}.{name} has no doc");
        }
    }
}
