//! Unit tests of `explain_bucket`: which samples are listed, what they count in the bucket and
//! why, and that the row is the aggregated one.

use super::*;
use crate::aggregate::aggregate_user;
use chrono::TimeZone;
use chrono_tz::{Europe, UTC};

fn at(h: u32, m: u32) -> Instant {
    Utc.with_ymd_and_hms(2026, 5, 5, h, m, 0).unwrap()
}

fn s(id: &str, device: &str, t: SampleType, value: f64, start: Instant, end: Instant) -> Sample {
    Sample {
        id: id.into(),
        device_id: device.into(),
        sample_type: t,
        value,
        start,
        end,
    }
}

fn ranking() -> DeviceRanking {
    let mut r = DeviceRanking::new();
    r.set_priority("watch", 100).set_priority("phone", 80);
    r
}

fn steps() -> Vec<Sample> {
    vec![
        s(
            "w",
            "watch",
            SampleType::Steps,
            600.0,
            at(10, 0),
            at(10, 30),
        ),
        // Half covered by the watch: trimmed, keeps 225.
        s(
            "p",
            "phone",
            SampleType::Steps,
            450.0,
            at(10, 15),
            at(10, 45),
        ),
        // Inside the watch's range: dropped.
        s(
            "c",
            "phone",
            SampleType::Steps,
            100.0,
            at(10, 5),
            at(10, 25),
        ),
        // Across 11:00: half of it in each hour.
        s(
            "x",
            "phone",
            SampleType::Steps,
            300.0,
            at(10, 50),
            at(11, 10),
        ),
        // Another type and another hour: never listed for the 10:00 hour of STEPS.
        s(
            "h",
            "watch",
            SampleType::HeartRate,
            60.0,
            at(10, 0),
            at(10, 0),
        ),
        s(
            "late",
            "watch",
            SampleType::Steps,
            10.0,
            at(12, 0),
            at(12, 10),
        ),
    ]
}

fn explain(samples: &[Sample], t: SampleType, period: Period, start: Instant) -> BucketExplanation {
    explain_bucket(samples, &ranking(), UTC, t, period, start)
}

#[test]
fn lists_kept_trimmed_and_dropped_samples_of_the_hour() {
    let e = explain(&steps(), SampleType::Steps, Period::Hour, at(10, 0));
    assert_eq!((e.period_start, e.period_end), (at(10, 0), at(11, 0)));
    let listed: Vec<(&str, Option<i64>, f64, f64, &Reason)> = e
        .samples
        .iter()
        .map(|x| {
            (
                x.id.as_str(),
                x.priority,
                x.counted_fraction,
                x.counted_in_bucket,
                &x.reason,
            )
        })
        .collect();
    let trimmed = Reason::Trimmed {
        by: vec!["watch".into()],
    };
    let dropped = Reason::Dropped {
        covered_by: vec!["watch".into()],
    };
    assert_eq!(
        listed,
        [
            ("w", Some(100), 1.0, 600.0, &Reason::Kept),
            ("c", Some(80), 0.0, 0.0, &dropped),
            ("p", Some(80), 0.5, 225.0, &trimmed),
            ("x", Some(80), 1.0, 150.0, &Reason::Kept),
        ]
    );
    let row = e.row.expect("the hour has a row");
    assert_eq!(
        (row.value, row.sample_count, row.device_count),
        (975.0, 3, 2)
    );
    // 10:00-10:45 and 10:50-11:00 are counted.
    assert_eq!(row.coverage, Some(55.0 / 60.0));
    let sum: f64 = e.samples.iter().map(|x| x.counted_in_bucket).sum();
    assert_eq!(sum, row.value);
}

#[test]
fn the_row_is_the_aggregated_row_for_every_period() {
    let samples = steps();
    let all = aggregate_user(&samples, &HashSet::new(), &ranking(), Europe::Berlin);
    for want in all.iter().filter(|r| r.sample_type == SampleType::Steps) {
        let e = explain_bucket(
            &samples,
            &ranking(),
            Europe::Berlin,
            SampleType::Steps,
            want.period,
            want.period_start,
        );
        assert_eq!(e.row.as_ref(), Some(want));
        let sum: f64 = e.samples.iter().map(|x| x.counted_in_bucket).sum();
        assert!((sum - want.value).abs() < 1e-9, "{sum} vs {want:?}");
    }
}

#[test]
fn an_instant_inside_the_bucket_names_the_bucket() {
    let e = explain(&steps(), SampleType::Steps, Period::Hour, at(11, 20));
    assert_eq!(e.period_start, at(11, 0));
    let ids: Vec<&str> = e.samples.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(ids, ["x"]);
    assert_eq!(e.samples[0].counted_in_bucket, 150.0);
    assert_eq!(e.row.map(|r| r.value), Some(150.0));
}

#[test]
fn discrete_samples_belong_to_the_bucket_of_their_start() {
    let samples = [
        // Starts in the 09:00 hour, reaches into 10:00: not listed for 10:00.
        s(
            "a",
            "phone",
            SampleType::HeartRate,
            50.0,
            at(9, 50),
            at(10, 10),
        ),
        s(
            "b",
            "watch",
            SampleType::HeartRate,
            60.0,
            at(10, 0),
            at(10, 20),
        ),
        // Covered by the watch: dropped, listed with nothing counted.
        s(
            "c",
            "phone",
            SampleType::HeartRate,
            90.0,
            at(10, 5),
            at(10, 6),
        ),
        s(
            "d",
            "phone",
            SampleType::HeartRate,
            70.0,
            at(10, 30),
            at(10, 30),
        ),
    ];
    let e = explain(&samples, SampleType::HeartRate, Period::Hour, at(10, 0));
    let listed: Vec<(&str, f64, f64)> = e
        .samples
        .iter()
        .map(|x| (x.id.as_str(), x.counted_fraction, x.counted_in_bucket))
        .collect();
    assert_eq!(
        listed,
        [("b", 1.0, 60.0), ("c", 0.0, 0.0), ("d", 1.0, 70.0)]
    );
    let row = e.row.expect("row");
    assert_eq!(
        (row.value, row.sample_count, row.coverage, row.device_count),
        (65.0, 2, None, 2)
    );
}

#[test]
fn an_empty_bucket_has_no_row_and_no_samples() {
    let e = explain(&steps(), SampleType::Steps, Period::Hour, at(15, 0));
    assert_eq!((e.row, e.samples.len()), (None, 0));
    let e = explain(&[], SampleType::Weight, Period::Month, at(15, 0));
    assert_eq!(
        e.period_start,
        Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap()
    );
    assert_eq!((e.row, e.samples.len()), (None, 0));
}

#[test]
fn unlisted_devices_have_no_priority() {
    let samples = [s("u", "ring", SampleType::Steps, 5.0, at(10, 0), at(10, 5))];
    let e = explain(&samples, SampleType::Steps, Period::Hour, at(10, 0));
    assert_eq!(e.samples[0].priority, None);
    assert_eq!(e.samples[0].reason, Reason::Kept);
}
