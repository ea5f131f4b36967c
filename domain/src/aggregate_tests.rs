//! Unit tests of `aggregate`: row contents per kind, and which rows exist.

use super::*;
use chrono::TimeZone;
use chrono_tz::{Europe, UTC};

fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, d, h, m, 0).unwrap()
}

fn s(
    id: &str,
    device: &str,
    sample_type: SampleType,
    value: f64,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Sample {
    Sample {
        id: id.into(),
        device_id: device.into(),
        sample_type,
        value,
        start,
        end,
    }
}

fn ranking() -> DeviceRanking {
    let mut r = DeviceRanking::new();
    r.set_priority("watch", 100).set_priority("phone", 50);
    r
}

fn rows(samples: &[Sample], tz: Tz) -> Vec<AggregateRow> {
    aggregate_user(samples, &HashSet::new(), &ranking(), tz)
}

fn row(rows: &[AggregateRow], period: Period, start: DateTime<Utc>) -> (f64, f64, f64, u32) {
    let r = rows
        .iter()
        .find(|r| r.period == period && r.period_start == start)
        .expect("row exists");
    (r.value, r.min_value, r.max_value, r.sample_count)
}

#[test]
fn a_sample_with_a_hole_contributes_once_per_bucket() {
    // Phone 10:00-11:00 (600) loses 10:20-10:30 to the watch: 200 + 300 = one contribution of 500.
    let samples = [
        s(
            "p",
            "phone",
            SampleType::Steps,
            600.0,
            at(5, 10, 0),
            at(5, 11, 0),
        ),
        s(
            "w",
            "watch",
            SampleType::Steps,
            40.0,
            at(5, 10, 20),
            at(5, 10, 30),
        ),
    ];
    let rows = rows(&samples, UTC);
    assert_eq!(
        row(&rows, Period::Hour, at(5, 10, 0)),
        (540.0, 40.0, 500.0, 2)
    );
    assert_eq!(rows.len(), 4);
}

#[test]
fn no_row_where_only_covered_samples_lie() {
    // The phone's 11:00 hour is entirely the watch's: the phone is not counted there.
    let samples = [
        s(
            "p",
            "phone",
            SampleType::Steps,
            120.0,
            at(5, 10, 0),
            at(5, 12, 0),
        ),
        s(
            "w",
            "watch",
            SampleType::Steps,
            0.0,
            at(5, 11, 0),
            at(5, 12, 0),
        ),
        s(
            "h",
            "phone",
            SampleType::HeartRate,
            60.0,
            at(5, 13, 0),
            at(5, 13, 0),
        ),
        s(
            "hw",
            "watch",
            SampleType::HeartRate,
            61.0,
            at(5, 13, 0),
            at(5, 13, 0),
        ),
    ];
    let rows = rows(&samples, UTC);
    assert_eq!(row(&rows, Period::Hour, at(5, 11, 0)), (0.0, 0.0, 0.0, 1));
    assert_eq!(row(&rows, Period::Day, at(5, 0, 0)).3, 2);
    let hr: Vec<_> = rows
        .iter()
        .filter(|r| r.sample_type == SampleType::HeartRate)
        .collect();
    assert!(hr.iter().all(|r| r.value == 61.0 && r.sample_count == 1));
}

#[test]
fn discrete_sample_belongs_to_the_bucket_of_its_start() {
    let samples = [
        s(
            "a",
            "phone",
            SampleType::HeartRate,
            100.0,
            at(5, 10, 55),
            at(5, 11, 5),
        ),
        s(
            "b",
            "phone",
            SampleType::HeartRate,
            80.0,
            at(5, 10, 10),
            at(5, 10, 10),
        ),
    ];
    let rows = rows(&samples, UTC);
    assert_eq!(
        row(&rows, Period::Hour, at(5, 10, 0)),
        (90.0, 80.0, 100.0, 2)
    );
    assert!(!rows
        .iter()
        .any(|r| r.period == Period::Hour && r.period_start == at(5, 11, 0)));
}

#[test]
fn latest_prefers_start_then_end_then_id() {
    let t = at(13, 9, 0);
    let mut samples = vec![
        s("b", "watch", SampleType::Weight, 72.0, t, t),
        s("a", "watch", SampleType::Weight, 71.0, t, t),
    ];
    // Same start, end and device: the larger id wins.
    assert_eq!(
        row(&rows(&samples, UTC), Period::Hour, t),
        (72.0, 71.0, 72.0, 2)
    );
    // A lower device at the same instant is dropped by deduplication, so the device
    // tie-break never has two survivors to separate (same start and end means covered).
    samples.push(s("z", "phone", SampleType::Weight, 70.0, t, t));
    assert_eq!(
        row(&rows(&samples, UTC), Period::Hour, t),
        (72.0, 71.0, 72.0, 2)
    );
    // A later end wins even from the lower device.
    samples.push(s("c", "phone", SampleType::Weight, 69.0, t, at(13, 9, 1)));
    assert_eq!(
        row(&rows(&samples, UTC), Period::Day, at(13, 0, 0)),
        (69.0, 69.0, 72.0, 3)
    );
    // A later start wins over everything.
    samples.push(s(
        "d",
        "phone",
        SampleType::Weight,
        75.0,
        at(13, 9, 30),
        at(13, 9, 30),
    ));
    assert_eq!(
        row(&rows(&samples, UTC), Period::Day, at(13, 0, 0)),
        (75.0, 69.0, 75.0, 4)
    );
}

#[test]
fn midnight_split_in_the_users_zone() {
    // 23:50-00:10 Berlin summer time: half of it on each local day.
    let samples = [s(
        "a",
        "watch",
        SampleType::SleepAnalysis,
        20.0,
        at(4, 21, 50),
        at(4, 22, 10),
    )];
    let rows = rows(&samples, Europe::Berlin);
    assert_eq!(row(&rows, Period::Day, at(3, 22, 0)), (10.0, 10.0, 10.0, 1));
    assert_eq!(row(&rows, Period::Day, at(4, 22, 0)), (10.0, 10.0, 10.0, 1));
    assert_eq!(
        row(&rows, Period::Week, at(3, 22, 0)),
        (20.0, 20.0, 20.0, 1)
    );
}

#[test]
fn rows_are_sorted_and_cover_all_periods() {
    let samples = [
        s(
            "w",
            "watch",
            SampleType::Weight,
            80.0,
            at(5, 7, 0),
            at(5, 7, 0),
        ),
        s(
            "s",
            "watch",
            SampleType::Steps,
            10.0,
            at(5, 7, 0),
            at(5, 7, 10),
        ),
    ];
    let rows = rows(&samples, UTC);
    let keys: Vec<(SampleType, Period)> = rows.iter().map(|r| (r.sample_type, r.period)).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(rows.len(), 8);
}

#[test]
fn row_serializes_with_lowercase_period_and_type_name() {
    let r = AggregateRow {
        sample_type: SampleType::Steps,
        period: Period::Day,
        period_start: at(5, 0, 0),
        value: 1.0,
        min_value: 1.0,
        max_value: 1.0,
        sample_count: 1,
    };
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(
        (json["sample_type"].as_str(), json["period"].as_str()),
        (Some("STEPS"), Some("day"))
    );
    assert_eq!(serde_json::from_value::<AggregateRow>(json).unwrap(), r);
}
