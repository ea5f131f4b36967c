//! Unit tests of `aggregate`: row contents per kind, and which rows exist.

use super::*;
use chrono::TimeZone;
use chrono_tz::{America, Europe, UTC};

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
        coverage: Some(0.5),
        device_count: 1,
    };
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(
        (json["sample_type"].as_str(), json["period"].as_str()),
        (Some("STEPS"), Some("day"))
    );
    assert_eq!(serde_json::from_value::<AggregateRow>(json).unwrap(), r);
}

/// The row of `period` starting at `start`, for the checks of coverage and device counts.
fn find(rows: &[AggregateRow], period: Period, start: DateTime<Utc>) -> &AggregateRow {
    rows.iter()
        .find(|r| r.period == period && r.period_start == start)
        .expect("row exists")
}

#[test]
fn coverage_is_the_counted_time_over_the_day() {
    // The watch covers 08:00-16:00; the phone 06:00-10:00 fills 06:00-08:00: 10 of 24 hours.
    let samples = [
        s(
            "w",
            "watch",
            SampleType::Steps,
            8000.0,
            at(5, 8, 0),
            at(5, 16, 0),
        ),
        s(
            "p",
            "phone",
            SampleType::Steps,
            4000.0,
            at(5, 6, 0),
            at(5, 10, 0),
        ),
    ];
    let rows = rows(&samples, UTC);
    let day = find(&rows, Period::Day, at(5, 0, 0));
    assert_eq!(
        (day.value, day.coverage, day.device_count),
        (10_000.0, Some(10.0 / 24.0), 2)
    );
    // 09:00 is the watch's alone: the phone counts nothing there.
    let nine = find(&rows, Period::Hour, at(5, 9, 0));
    assert_eq!((nine.coverage, nine.device_count), (Some(1.0), 1));
    let seven = find(&rows, Period::Hour, at(5, 7, 0));
    assert_eq!((seven.coverage, seven.device_count), (Some(1.0), 1));
}

#[test]
fn a_fully_covered_hour_counts_overlaps_once() {
    // Two overlapping watch samples and a phone sample: the union is the whole hour, not more.
    let samples = [
        s(
            "a",
            "watch",
            SampleType::Steps,
            40.0,
            at(5, 10, 0),
            at(5, 10, 40),
        ),
        s(
            "b",
            "watch",
            SampleType::Steps,
            40.0,
            at(5, 10, 20),
            at(5, 11, 0),
        ),
        s(
            "c",
            "phone",
            SampleType::Steps,
            10.0,
            at(5, 10, 30),
            at(5, 10, 50),
        ),
    ];
    let rows = rows(&samples, UTC);
    let hour = find(&rows, Period::Hour, at(5, 10, 0));
    assert_eq!(
        (hour.coverage, hour.device_count, hour.sample_count),
        (Some(1.0), 1, 2)
    );
    let day = find(&rows, Period::Day, at(5, 0, 0));
    assert_eq!(day.coverage, Some(1.0 / 24.0));
}

#[test]
fn coverage_divides_by_the_local_day_length_on_dst_days() {
    let utc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    // Berlin's 2026-03-29 lasts 23 hours (23:00Z on the 28th to 22:00Z on the 29th); 12 hours
    // of sleep cover 12/23 of it.
    let spring = [s(
        "s",
        "watch",
        SampleType::SleepAnalysis,
        720.0,
        utc("2026-03-29T00:00:00Z"),
        utc("2026-03-29T12:00:00Z"),
    )];
    let day = find(
        &rows(&spring, Europe::Berlin),
        Period::Day,
        utc("2026-03-28T23:00:00Z"),
    )
    .clone();
    assert_eq!(day.coverage, Some(12.0 / 23.0));
    // 2026-10-25 lasts 25 hours (22:00Z on the 24th to 23:00Z on the 25th).
    let fall = [s(
        "s",
        "watch",
        SampleType::SleepAnalysis,
        720.0,
        utc("2026-10-25T00:00:00Z"),
        utc("2026-10-25T12:00:00Z"),
    )];
    let day = find(
        &rows(&fall, Europe::Berlin),
        Period::Day,
        utc("2026-10-24T22:00:00Z"),
    )
    .clone();
    assert_eq!(day.coverage, Some(12.0 / 25.0));
    // The whole 23-hour New York day, covered by two samples: exactly 1.
    let whole = [
        s(
            "a",
            "watch",
            SampleType::Steps,
            1.0,
            utc("2026-03-08T05:00:00Z"),
            utc("2026-03-08T17:00:00Z"),
        ),
        s(
            "b",
            "phone",
            SampleType::Steps,
            1.0,
            utc("2026-03-08T17:00:00Z"),
            utc("2026-03-09T04:00:00Z"),
        ),
    ];
    let ny = rows(&whole, America::New_York);
    let day = find(&ny, Period::Day, utc("2026-03-08T05:00:00Z"));
    assert_eq!((day.coverage, day.device_count), (Some(1.0), 2));
}

#[test]
fn instants_add_no_time_and_non_cumulative_rows_have_no_coverage() {
    let samples = [
        s(
            "i",
            "phone",
            SampleType::Steps,
            5.0,
            at(5, 10, 0),
            at(5, 10, 0),
        ),
        s(
            "h1",
            "watch",
            SampleType::HeartRate,
            60.0,
            at(5, 10, 0),
            at(5, 10, 5),
        ),
        s(
            "h2",
            "phone",
            SampleType::HeartRate,
            70.0,
            at(5, 10, 30),
            at(5, 10, 30),
        ),
        // Covered by the watch's range: dropped, so the phone is counted once only.
        s(
            "h3",
            "phone",
            SampleType::HeartRate,
            99.0,
            at(5, 10, 1),
            at(5, 10, 2),
        ),
        s(
            "w",
            "watch",
            SampleType::Weight,
            70.0,
            at(5, 10, 0),
            at(5, 10, 0),
        ),
    ];
    let rows = rows(&samples, UTC);
    let of = |t: SampleType| {
        rows.iter()
            .find(|r| r.sample_type == t && r.period == Period::Hour)
            .expect("row exists")
    };
    let steps = of(SampleType::Steps);
    assert_eq!((steps.coverage, steps.device_count), (Some(0.0), 1));
    let hr = of(SampleType::HeartRate);
    assert_eq!(
        (hr.coverage, hr.device_count, hr.sample_count),
        (None, 2, 2)
    );
    let weight = of(SampleType::Weight);
    assert_eq!((weight.coverage, weight.device_count), (None, 1));
}

#[test]
fn sums_do_not_depend_on_the_input_order() {
    // Values whose sum is order-sensitive in floating point.
    let values = [0.1, 0.2, 0.3, 1e16, -1e16, 0.7];
    let samples: Vec<Sample> = values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let start = at(5, 10, 5 * i as u32);
            s(
                &format!("s{i}"),
                "watch",
                SampleType::Steps,
                v,
                start,
                start,
            )
        })
        .collect();
    let reversed: Vec<Sample> = samples.iter().rev().cloned().collect();
    assert_eq!(rows(&samples, UTC), rows(&reversed, UTC));
}

/// A sample across midnight is one contribution to its week and month (its two day amounts
/// summed, counted once) and two contributions to the weeks it straddles on a Sunday night;
/// the weeks and months are combined from day partials that keep it apart.
#[test]
fn a_sample_across_midnight_counts_once_in_its_month_and_in_each_week() {
    // Sunday 31 May 22:00 UTC → Monday 1 June 02:00 UTC: 400 steps, 200 each side.
    let across = s(
        "x",
        "watch",
        SampleType::Steps,
        400.0,
        Utc.with_ymd_and_hms(2026, 5, 31, 22, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 6, 1, 2, 0, 0).unwrap(),
    );
    let small = s(
        "y",
        "phone",
        SampleType::Steps,
        50.0,
        at(31, 10, 0),
        at(31, 10, 5),
    );
    let rows = rows(&[across, small], UTC);
    let may = Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap();
    assert_eq!(row(&rows, Period::Month, may), (250.0, 50.0, 200.0, 2));
    let week = Utc.with_ymd_and_hms(2026, 5, 25, 0, 0, 0).unwrap();
    assert_eq!(row(&rows, Period::Week, week), (250.0, 50.0, 200.0, 2));
    let june = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    assert_eq!(row(&rows, Period::Week, june), (200.0, 200.0, 200.0, 1));
    assert_eq!(row(&rows, Period::Month, june), (200.0, 200.0, 200.0, 1));
}

/// Inside one week, a sample across midnight contributes its whole amount once.
#[test]
fn a_sample_across_midnight_inside_a_week_is_one_contribution() {
    let across = s(
        "x",
        "watch",
        SampleType::Steps,
        400.0,
        at(5, 22, 0),
        at(6, 2, 0),
    );
    let small = s(
        "y",
        "phone",
        SampleType::Steps,
        50.0,
        at(5, 10, 0),
        at(5, 10, 5),
    );
    let rows = rows(&[across, small], UTC);
    let week = Utc.with_ymd_and_hms(2026, 5, 4, 0, 0, 0).unwrap();
    assert_eq!(row(&rows, Period::Week, week), (450.0, 50.0, 400.0, 2));
    assert_eq!(
        row(&rows, Period::Day, at(5, 0, 0)),
        (250.0, 50.0, 200.0, 2)
    );
    let w = rows
        .iter()
        .find(|r| r.period == Period::Week)
        .expect("week row");
    assert_eq!(w.coverage, Some((4.0 * 3600.0 + 300.0) / (7.0 * 86400.0)));
}

/// A day's partial depends only on the samples starting in the day's reach (what the
/// processor loads): a phone sample across midnight whose part before midnight the watch
/// covers entirely, with a watch sample that starts more than a day before midnight, is
/// still shared with the day before, so its partial does not change without that sample.
#[test]
fn a_partial_does_not_depend_on_samples_beyond_its_reach() {
    let midnight = at(6, 0, 0);
    let phone = s(
        "p",
        "phone",
        SampleType::Steps,
        2400.0,
        at(5, 1, 0),
        at(6, 1, 0),
    );
    let early = s(
        "w1",
        "watch",
        SampleType::Steps,
        100.0,
        at(4, 1, 30),
        at(5, 1, 30),
    );
    let late = s(
        "w2",
        "watch",
        SampleType::Steps,
        100.0,
        at(5, 1, 30),
        midnight,
    );
    let day_end = at(7, 0, 0);
    let reach = SampleType::Steps.reach(midnight, day_end);
    assert!(
        !reach.contains(&early.start),
        "the early watch sample is beyond the reach"
    );
    let partial_of = |samples: &[Sample]| {
        let (_, partials) = aggregate_user_days(samples, &HashSet::new(), &ranking(), UTC);
        partials
            .into_iter()
            .find(|p| p.day_start == midnight)
            .expect("a partial")
    };
    let all = partial_of(&[phone.clone(), early, late.clone()]);
    let near = partial_of(&[phone, late]);
    assert_eq!(all, near);
    assert_eq!(all.shared.len(), 1, "{all:?}");
}
