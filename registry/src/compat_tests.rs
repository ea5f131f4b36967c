//! The compatibility levels on the schema changes producers actually make.

use super::*;

fn record(fields: &str) -> Schema {
    let text =
        format!(r#"{{"type":"record","name":"Sample","namespace":"t","fields":[{fields}]}}"#);
    Schema::parse_str(&text).unwrap()
}

fn v1() -> Schema {
    record(r#"{"name":"a","type":"int"}"#)
}

fn with_optional_b() -> Schema {
    record(r#"{"name":"a","type":"int"},{"name":"b","type":["null","string"],"default":null}"#)
}

fn with_required_b() -> Schema {
    record(r#"{"name":"a","type":"int"},{"name":"b","type":"string"}"#)
}

fn history(schemas: &[Schema]) -> Vec<Previous> {
    let versions = 1..;
    versions
        .zip(schemas)
        .map(|(version, schema)| Previous {
            version,
            schema: schema.clone(),
        })
        .collect()
}

fn ok(level: CompatibilityLevel, new: &Schema, previous: &[Schema]) -> bool {
    check(level, new, &history(previous)).is_empty()
}

use CompatibilityLevel::*;

#[test]
fn adding_an_optional_field_with_a_default_is_compatible_both_ways() {
    for level in [
        Backward,
        Forward,
        Full,
        BackwardTransitive,
        FullTransitive,
        None,
    ] {
        assert!(ok(level, &with_optional_b(), &[v1()]), "{level}");
    }
}

#[test]
fn adding_a_required_field_breaks_backward_but_not_forward() {
    let messages = check(Backward, &with_required_b(), &history(&[v1()]));
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].contains("'b'") && messages[0].contains("default"),
        "{messages:?}"
    );
    assert!(ok(Forward, &with_required_b(), &[v1()]));
    assert!(!ok(Full, &with_required_b(), &[v1()]));
    assert!(ok(None, &with_required_b(), &[v1()]));
}

#[test]
fn removing_a_field_without_default_breaks_forward_but_not_backward() {
    // Old readers need `b`, which the new writer no longer sends and they have no default for.
    assert!(ok(Backward, &v1(), &[with_required_b()]));
    assert!(!ok(Forward, &v1(), &[with_required_b()]));
    assert!(!ok(Full, &v1(), &[with_required_b()]));
    // With a default on the old side, removing it is fine in both directions.
    assert!(ok(Full, &v1(), &[with_optional_b()]));
}

#[test]
fn transitive_levels_check_every_version_the_others_only_the_latest() {
    // v1 has `a` required; v2 makes it optional with a default; v3 drops `a`.
    let v2 = record(r#"{"name":"a","type":"int","default":0}"#);
    let v3 = record("");
    // FORWARD: v2 can read v3 data (default for a); v1 cannot (a required).
    assert!(ok(Forward, &v3, &[v1(), v2.clone()]));
    let messages = check(ForwardTransitive, &v3, &history(&[v1(), v2.clone()]));
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("version 1"), "{messages:?}");
    // BACKWARD the other way round: v3' requires `c`, v2' has it with default, v1 lacks it.
    let c_required = record(r#"{"name":"c","type":"long"}"#);
    let c_default = record(r#"{"name":"c","type":"long","default":1}"#);
    assert!(ok(Backward, &c_required, &[v1(), c_default.clone()]));
    assert!(!ok(BackwardTransitive, &c_required, &[v1(), c_default]));
}

#[test]
fn type_promotion_follows_avro_resolution() {
    let long_a = record(r#"{"name":"a","type":"long"}"#);
    assert!(
        ok(Backward, &long_a, &[v1()]),
        "int data is readable as long"
    );
    assert!(
        !ok(Forward, &long_a, &[v1()]),
        "long data is not readable as int"
    );
}

#[test]
fn partially_matching_enums_are_incompatible() {
    let abc = Schema::parse_str(r#"{"type":"enum","name":"E","symbols":["A","B","C"]}"#).unwrap();
    let ab = Schema::parse_str(r#"{"type":"enum","name":"E","symbols":["A","B"]}"#).unwrap();
    assert!(!ok(Backward, &ab, std::slice::from_ref(&abc)));
    assert!(ok(Backward, &abc, &[ab]));
}

#[test]
fn levels_parse_case_insensitively_and_print_upper_case() {
    assert_eq!(
        CompatibilityLevel::parse("full_transitive"),
        Some(FullTransitive)
    );
    assert_eq!(CompatibilityLevel::parse("NONE"), Some(None));
    assert_eq!(CompatibilityLevel::parse("SOMETIMES"), Option::None);
    assert_eq!(BackwardTransitive.to_string(), "BACKWARD_TRANSITIVE");
    assert_eq!(CompatibilityLevel::DEFAULT, Backward);
}
