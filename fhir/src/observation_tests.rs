use healthpipe_domain::{Period, SampleType as T};
use serde_json::{json, Value};

use super::*;
use crate::test_data::{at, bucket, ranged, reading, row, user};

fn to_json(observation: &Observation) -> Value {
    serde_json::to_value(crate::model::Resource::from(observation.clone())).unwrap()
}

#[test]
fn an_instant_sample_is_a_whole_observation() {
    let sample = reading("hr-1", T::HeartRate, 64.0, at(8, 0));
    let observation = sample_observation(user(), &sample).unwrap();
    assert_eq!(
        to_json(&observation),
        json!({
            "resourceType": "Observation",
            "id": ids::sample_observation_id(user(), "hr-1"),
            "identifier": [{"system": SAMPLE_ID_SYSTEM, "value": "hr-1"}],
            "status": "final",
            "category": [{
                "coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                    "code": "vital-signs",
                    "display": "Vital Signs"
                }],
                "text": "Vital Signs"
            }],
            "code": {
                "coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}],
                "text": "Heart rate"
            },
            "subject": {"reference": "Patient/0b9e8b7a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"},
            "effectiveDateTime": "2026-05-04T08:00:00Z",
            "valueQuantity": {
                "value": 64.0,
                "unit": "beats/minute",
                "system": "http://unitsofmeasure.org",
                "code": "/min"
            }
        })
    );
}

#[test]
fn a_sample_with_a_range_is_effective_over_it() {
    let sample = ranged("st-1", T::Steps, 1200.0, at(10, 0), at(10, 30));
    let json = to_json(&sample_observation(user(), &sample).unwrap());
    assert_eq!(
        json["effectivePeriod"],
        json!({"start": "2026-05-04T10:00:00Z", "end": "2026-05-04T10:30:00Z"})
    );
    assert!(json.get("effectiveDateTime").is_none());
    assert_eq!(json["category"][0]["coding"][0]["code"], "activity");
    assert_eq!(json["valueQuantity"]["code"], "{steps}");
}

#[test]
fn oxygen_saturation_carries_both_loinc_codes() {
    let sample = reading("o-1", T::OxygenSaturation, 97.0, at(8, 0));
    let json = to_json(&sample_observation(user(), &sample).unwrap());
    let codes: Vec<&str> = json["code"]["coding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["2708-6", "59408-5"]);
    assert_eq!(json["valueQuantity"]["code"], "%");
}

#[test]
fn a_bucket_is_effective_over_the_bucket_with_its_statistics_as_extensions() {
    let mut steps = row(T::Steps, Period::Day, at(0, 0), 8000.0);
    steps.coverage = Some(0.5);
    steps.device_count = 2;
    let end = at(0, 0) + chrono::TimeDelta::hours(23); // a DST day, as the caller computed it
    let observation = bucket_observation(user(), &Bucket::new(steps, end).unwrap()).unwrap();
    let json = to_json(&observation);
    assert_eq!(
        json["id"],
        json!(ids::bucket_observation_id(
            user(),
            T::Steps,
            Period::Day,
            at(0, 0)
        ))
    );
    assert_eq!(
        json["effectivePeriod"],
        json!({"start": "2026-05-04T00:00:00Z", "end": "2026-05-04T23:00:00Z"})
    );
    assert_eq!(json["valueQuantity"]["value"], 8000.0);
    let quantity =
        |value: f64| json!({"value": value, "unit": "steps", "system": UCUM, "code": "{steps}"});
    assert_eq!(
        json["extension"],
        json!([
            {"url": AGGREGATION_URL, "valueCode": "sum"},
            {"url": PERIOD_URL, "valueCode": "day"},
            {"url": MINIMUM_URL, "valueQuantity": quantity(7999.0)},
            {"url": MAXIMUM_URL, "valueQuantity": quantity(8001.0)},
            {"url": SAMPLE_COUNT_URL, "valueUnsignedInt": 3},
            {"url": DEVICE_COUNT_URL, "valueUnsignedInt": 2},
            {"url": COVERAGE_URL, "valueDecimal": 0.5},
        ])
    );
    assert!(json.get("identifier").is_none());
}

#[test]
fn a_discrete_bucket_is_a_mean_and_an_unrecorded_device_count_is_left_out() {
    let mut heart = row(T::HeartRate, Period::Hour, at(9, 0), 70.0);
    heart.device_count = 0;
    let bucket = Bucket::new(heart, at(10, 0)).unwrap();
    let json = to_json(&bucket_observation(user(), &bucket).unwrap());
    let urls: Vec<&str> = json["extension"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["url"].as_str().unwrap())
        .collect();
    assert_eq!(
        urls,
        [
            AGGREGATION_URL,
            PERIOD_URL,
            MINIMUM_URL,
            MAXIMUM_URL,
            SAMPLE_COUNT_URL
        ]
    );
    assert_eq!(json["extension"][0]["valueCode"], "mean");
    assert_eq!(json["extension"][1]["valueCode"], "hour");
}

#[test]
fn a_sample_panel_has_the_two_components_and_no_value_of_its_own() {
    let systolic = reading("s", T::BloodPressureSystolic, 120.0, at(8, 0));
    let diastolic = reading("d", T::BloodPressureDiastolic, 80.0, at(8, 0));
    let json = to_json(&sample_panel(user(), &systolic, &diastolic).unwrap());
    assert_eq!(json["id"], json!(ids::sample_panel_id(user(), "s", "d")));
    assert_eq!(json["code"]["coding"][0]["code"], "85354-9");
    assert_eq!(json["category"][0]["coding"][0]["code"], "vital-signs");
    assert!(json.get("valueQuantity").is_none());
    assert_eq!(json["effectiveDateTime"], "2026-05-04T08:00:00Z");
    let mm_hg =
        |value: f64| json!({"value": value, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"});
    assert_eq!(json["component"][0]["code"]["coding"][0]["code"], "8480-6");
    assert_eq!(json["component"][0]["valueQuantity"], mm_hg(120.0));
    assert_eq!(json["component"][1]["code"]["coding"][0]["code"], "8462-4");
    assert_eq!(json["component"][1]["valueQuantity"], mm_hg(80.0));
    assert!(json["component"][0].get("extension").is_none());
    assert_eq!(json["identifier"][0]["value"], "s");
    assert_eq!(json["identifier"][1]["value"], "d");
}

#[test]
fn a_bucket_panel_keeps_each_components_statistics() {
    let systolic = bucket(T::BloodPressureSystolic, Period::Day, at(0, 0), 121.0);
    let diastolic = bucket(T::BloodPressureDiastolic, Period::Day, at(0, 0), 79.0);
    let json = to_json(&bucket_panel(user(), &systolic, &diastolic).unwrap());
    assert_eq!(
        json["id"],
        json!(ids::bucket_panel_id(user(), Period::Day, at(0, 0)))
    );
    assert_eq!(json["extension"][0]["valueCode"], "mean");
    assert_eq!(json["extension"][1]["valueCode"], "day");
    assert_eq!(json["extension"].as_array().unwrap().len(), 2);
    assert_eq!(json["component"][0]["valueQuantity"]["value"], 121.0);
    assert_eq!(
        json["component"][0]["extension"][0]["valueQuantity"]["value"],
        120.0
    );
    assert_eq!(
        json["component"][1]["extension"][1]["valueQuantity"]["value"],
        80.0
    );
}

#[test]
fn the_same_data_gives_the_same_resource() {
    let sample = ranged("w-1", T::Weight, 72.5, at(7, 0), at(7, 0));
    assert_eq!(
        sample_observation(user(), &sample).unwrap(),
        sample_observation(user(), &sample.clone()).unwrap()
    );
    let other = ranged("w-2", T::Weight, 72.5, at(7, 0), at(7, 0));
    assert_ne!(
        sample_observation(user(), &sample).unwrap().id,
        sample_observation(user(), &other).unwrap().id
    );
    let day = bucket(T::Weight, Period::Day, at(0, 0), 72.5);
    assert_eq!(
        bucket_observation(user(), &day).unwrap(),
        bucket_observation(user(), &day.clone()).unwrap()
    );
}

#[test]
fn data_fhir_cannot_carry_is_refused_by_name() {
    let nan = reading("n", T::HeartRate, f64::NAN, at(8, 0));
    assert!(matches!(
        sample_observation(user(), &nan),
        Err(FhirError::NotFinite {
            sample_type: T::HeartRate,
            ..
        })
    ));
    let err = Bucket::new(row(T::Steps, Period::Day, at(0, 0), 1.0), at(0, 0)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "STEPS day bucket starting 2026-05-04 00:00:00 UTC must end after its start, not at 2026-05-04 00:00:00 UTC"
    );
    let mut huge = row(T::Steps, Period::Day, at(0, 0), 1.0);
    huge.sample_count = u32::MAX;
    let huge = Bucket::new(huge, at(23, 0)).unwrap();
    assert!(matches!(
        bucket_observation(user(), &huge),
        Err(FhirError::CountTooLarge {
            count: u32::MAX,
            ..
        })
    ));
    let mut infinite = row(T::Steps, Period::Day, at(0, 0), 1.0);
    infinite.coverage = Some(f64::INFINITY);
    let infinite = Bucket::new(infinite, at(23, 0)).unwrap();
    assert!(bucket_observation(user(), &infinite).is_err());
}

#[test]
fn a_panel_needs_a_systolic_and_a_diastolic_reading_taken_together() {
    let systolic = reading("s", T::BloodPressureSystolic, 120.0, at(8, 0));
    let diastolic = reading("d", T::BloodPressureDiastolic, 80.0, at(8, 0));
    assert!(matches!(
        sample_panel(user(), &diastolic, &systolic),
        Err(FhirError::NotAPanel { .. })
    ));
    let later = reading("d", T::BloodPressureDiastolic, 80.0, at(8, 1));
    assert_eq!(
        sample_panel(user(), &systolic, &later),
        Err(FhirError::NotTakenTogether)
    );
    let mut other_device = diastolic.clone();
    other_device.device_id = "watch".into();
    assert_eq!(
        sample_panel(user(), &systolic, &other_device),
        Err(FhirError::NotTakenTogether)
    );
    let day = bucket(T::BloodPressureSystolic, Period::Day, at(0, 0), 120.0);
    let hour = bucket(T::BloodPressureDiastolic, Period::Hour, at(0, 0), 80.0);
    assert_eq!(
        bucket_panel(user(), &day, &hour),
        Err(FhirError::NotTakenTogether)
    );
}

#[test]
fn the_patient_is_the_user_id_only() {
    let json = serde_json::to_value(crate::model::Resource::from(patient(user()))).unwrap();
    assert_eq!(
        json,
        json!({"resourceType": "Patient", "id": "0b9e8b7a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"})
    );
}
