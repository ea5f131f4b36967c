use healthpipe_domain::{Period, Sample, SampleType as T};

use super::*;
use crate::test_data::{at, bucket, reading, user};

fn sys(id: &str, time: DateTime<Utc>) -> Sample {
    reading(id, T::BloodPressureSystolic, 120.0, time)
}

fn dia(id: &str, time: DateTime<Utc>) -> Sample {
    reading(id, T::BloodPressureDiastolic, 80.0, time)
}

/// The groups as ids: "s+d" for a panel, "s" for a single.
fn shape(groups: &[Group<Sample>]) -> Vec<String> {
    groups
        .iter()
        .map(|g| match g {
            Group::Single(s) => s.id.clone(),
            Group::Panel {
                systolic,
                diastolic,
            } => format!("{}+{}", systolic.id, diastolic.id),
        })
        .collect()
}

#[test]
fn systolic_and_diastolic_of_the_same_time_and_device_make_one_panel() {
    assert_eq!(
        shape(&pair_all([sys("s", at(8, 0)), dia("d", at(8, 0))])),
        ["s+d"]
    );
    // Whichever comes first.
    assert_eq!(
        shape(&pair_all([dia("d", at(8, 0)), sys("s", at(8, 0))])),
        ["s+d"]
    );
    let groups = pair_all([sys("s", at(8, 0)), dia("d", at(8, 0))]);
    let observation = groups[0].observation(user()).unwrap();
    assert_eq!(observation.code.coding[0].code, "85354-9");
    assert_eq!(observation.component.len(), 2);
}

#[test]
fn a_lone_reading_is_its_own_observation_with_its_own_code() {
    let groups = pair_all([sys("s", at(8, 0)), dia("d", at(9, 0))]);
    assert_eq!(shape(&groups), ["s", "d"]);
    assert_eq!(
        groups[0].observation(user()).unwrap().code.coding[0].code,
        "8480-6"
    );
    assert_eq!(
        groups[1].observation(user()).unwrap().code.coding[0].code,
        "8462-4"
    );

    let mut watch = dia("w", at(8, 0));
    watch.device_id = "watch".into();
    assert_eq!(shape(&pair_all([sys("s", at(8, 0)), watch])), ["s", "w"]);
    // Two systolic readings do not pair, and the first partner wins.
    assert_eq!(
        shape(&pair_all([
            sys("s1", at(8, 0)),
            sys("s2", at(8, 0)),
            dia("d", at(8, 0))
        ])),
        ["s1+d", "s2"]
    );
}

#[test]
fn two_devices_at_the_same_instant_make_two_panels() {
    let mut watch_s = sys("ws", at(8, 0));
    let mut watch_d = dia("wd", at(8, 0));
    watch_s.device_id = "watch".into();
    watch_d.device_id = "watch".into();
    let groups = pair_all([sys("s", at(8, 0)), watch_d, watch_s, dia("d", at(8, 0))]);
    assert_eq!(shape(&groups), ["s+d", "ws+wd"]);
}

#[test]
fn streaming_holds_only_the_blood_pressure_of_the_latest_instant() {
    let mut pairer = Pairer::new();
    // Other types come back at once, in any order.
    let heart = reading("h", T::HeartRate, 60.0, at(23, 0));
    assert_eq!(shape(&pairer.push(heart).unwrap()), ["h"]);
    assert!(pairer.push(sys("s1", at(8, 0))).unwrap().is_empty());
    let steps = reading("st", T::Steps, 10.0, at(1, 0));
    assert_eq!(shape(&pairer.push(steps).unwrap()), ["st"]);
    assert!(pairer.push(dia("d1", at(8, 0))).unwrap().is_empty());
    // A later reading shows the 8:00 readings are complete.
    assert_eq!(shape(&pairer.push(sys("s2", at(9, 0))).unwrap()), ["s1+d1"]);
    assert_eq!(shape(&pairer.finish()), ["s2"]);
}

#[test]
fn a_blood_pressure_reading_out_of_time_order_is_refused() {
    let mut pairer = Pairer::new();
    pairer.push(sys("s", at(9, 0))).unwrap();
    assert_eq!(
        pairer.push(dia("d", at(8, 0))),
        Err(FhirError::OutOfOrder {
            previous: at(9, 0),
            time: at(8, 0)
        })
    );
    // Other types are not ordered.
    assert!(pairer
        .push(reading("h", T::HeartRate, 60.0, at(1, 0)))
        .is_ok());
}

#[test]
fn buckets_pair_by_period_and_start() {
    let day_s = bucket(T::BloodPressureSystolic, Period::Day, at(0, 0), 120.0);
    let day_d = bucket(T::BloodPressureDiastolic, Period::Day, at(0, 0), 80.0);
    let hour_d = bucket(T::BloodPressureDiastolic, Period::Hour, at(0, 0), 80.0);
    let steps = bucket(T::Steps, Period::Day, at(0, 0), 8000.0);
    let groups = pair_all([hour_d.clone(), day_s.clone(), steps.clone(), day_d.clone()]);
    assert_eq!(
        groups,
        [
            Group::Single(steps),
            Group::Single(hour_d),
            Group::Panel {
                systolic: day_s,
                diastolic: day_d
            },
        ]
    );
    assert_eq!(
        groups[2].observation(user()).unwrap().code.coding[0].code,
        "85354-9"
    );
}
