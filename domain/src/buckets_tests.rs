//! Unit tests of `buckets`, kept beside it because the zone cases need room.

use super::*;
use chrono_tz::{America, Asia, Australia, Europe, UTC};

fn at(s: &str) -> Instant {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn start(period: Period, s: &str, tz: Tz) -> String {
    bucket_start(period, at(s), tz)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Every bucket start from the one containing `from` up to (excluding) `to`.
fn starts_between(period: Period, from: &str, to: &str, tz: Tz) -> Vec<Instant> {
    let mut out = vec![bucket_start(period, at(from), tz)];
    loop {
        let next = next_bucket_start(period, *out.last().unwrap(), tz);
        if next >= at(to) {
            return out;
        }
        out.push(next);
    }
}

#[test]
fn utc_is_plain_truncation() {
    assert_eq!(
        start(Period::Hour, "2026-05-04T08:59:59.999Z", UTC),
        "2026-05-04T08:00:00Z"
    );
    assert_eq!(
        start(Period::Day, "2026-05-04T23:59:59Z", UTC),
        "2026-05-04T00:00:00Z"
    );
    assert_eq!(
        start(Period::Week, "2026-05-10T12:00:00Z", UTC),
        "2026-05-04T00:00:00Z"
    );
    assert_eq!(
        start(Period::Month, "2026-05-31T23:00:00Z", UTC),
        "2026-05-01T00:00:00Z"
    );
}

#[test]
fn berlin_spring_forward_skips_an_hour_and_has_a_23_hour_day() {
    let tz = Europe::Berlin;
    assert_eq!(
        start(Period::Hour, "2026-03-29T01:59:59+01:00", tz),
        "2026-03-29T00:00:00Z"
    );
    assert_eq!(
        start(Period::Hour, "2026-03-29T03:00:00+02:00", tz),
        "2026-03-29T01:00:00Z"
    );
    assert_eq!(
        next_bucket_start(Period::Hour, at("2026-03-29T00:00:00Z"), tz),
        at("2026-03-29T01:00:00Z")
    );
    assert_eq!(
        start(Period::Day, "2026-03-29T12:00:00Z", tz),
        "2026-03-28T23:00:00Z"
    );
    assert_eq!(
        next_bucket_start(Period::Day, at("2026-03-28T23:00:00Z"), tz),
        at("2026-03-29T22:00:00Z")
    );
    assert_eq!(
        starts_between(
            Period::Hour,
            "2026-03-28T23:00:00Z",
            "2026-03-29T22:00:00Z",
            tz
        )
        .len(),
        23
    );
}

#[test]
fn berlin_fall_back_repeats_an_hour_and_has_a_25_hour_day() {
    let tz = Europe::Berlin;
    assert_eq!(
        start(Period::Hour, "2026-10-25T02:15:00+02:00", tz),
        "2026-10-25T00:00:00Z"
    );
    assert_eq!(
        start(Period::Hour, "2026-10-25T02:15:00+01:00", tz),
        "2026-10-25T01:00:00Z"
    );
    assert_eq!(
        start(Period::Day, "2026-10-25T23:59:00+01:00", tz),
        "2026-10-24T22:00:00Z"
    );
    assert_eq!(
        next_bucket_start(Period::Day, at("2026-10-24T22:00:00Z"), tz),
        at("2026-10-25T23:00:00Z")
    );
    assert_eq!(
        starts_between(
            Period::Hour,
            "2026-10-24T22:00:00Z",
            "2026-10-25T23:00:00Z",
            tz
        )
        .len(),
        25
    );
    // The day bucket is not cut at the offset change.
    let spans = split_range(
        Period::Day,
        at("2026-10-24T22:00:00Z"),
        at("2026-10-25T23:00:00Z"),
        tz,
    );
    assert_eq!(spans.len(), 1);
}

#[test]
fn new_york_days_of_23_and_25_hours() {
    let tz = America::New_York;
    assert_eq!(
        starts_between(
            Period::Hour,
            "2026-03-08T05:00:00Z",
            "2026-03-09T04:00:00Z",
            tz
        )
        .len(),
        23
    );
    assert_eq!(
        starts_between(
            Period::Hour,
            "2026-11-01T04:00:00Z",
            "2026-11-02T05:00:00Z",
            tz
        )
        .len(),
        25
    );
    assert_eq!(
        start(Period::Hour, "2026-03-08T01:59:59-05:00", tz),
        "2026-03-08T06:00:00Z"
    );
    assert_eq!(
        start(Period::Hour, "2026-03-08T03:00:00-04:00", tz),
        "2026-03-08T07:00:00Z"
    );
    assert_eq!(
        start(Period::Week, "2026-03-08T12:00:00Z", tz),
        "2026-03-02T05:00:00Z"
    );
    assert_eq!(
        start(Period::Month, "2026-11-15T12:00:00Z", tz),
        "2026-11-01T04:00:00Z"
    );
    assert_eq!(
        next_bucket_start(Period::Month, at("2026-11-01T04:00:00Z"), tz),
        at("2026-12-01T05:00:00Z")
    );
}

#[test]
fn kolkata_hours_start_at_half_past() {
    let tz = Asia::Kolkata;
    assert_eq!(
        start(Period::Hour, "2026-05-10T10:00:00Z", tz),
        "2026-05-10T09:30:00Z"
    );
    assert_eq!(
        start(Period::Hour, "2026-05-10T16:00:00+05:30", tz),
        "2026-05-10T10:30:00Z"
    );
    assert_eq!(
        start(Period::Day, "2026-05-10T18:00:00Z", tz),
        "2026-05-09T18:30:00Z"
    );
    assert_eq!(
        start(Period::Day, "2026-05-10T18:30:00Z", tz),
        "2026-05-10T18:30:00Z"
    );
    assert_eq!(
        start(Period::Month, "2026-05-10T18:30:00Z", tz),
        "2026-04-30T18:30:00Z"
    );
}

#[test]
fn iso_week_runs_across_the_year_end() {
    let tz = Europe::Berlin;
    assert_eq!(
        start(Period::Week, "2026-01-01T00:10:00+01:00", tz),
        "2025-12-28T23:00:00Z"
    );
    assert_eq!(
        start(Period::Week, "2026-01-04T23:59:59+01:00", tz),
        "2025-12-28T23:00:00Z"
    );
    assert_eq!(
        start(Period::Week, "2025-12-28T12:00:00+01:00", tz),
        "2025-12-21T23:00:00Z"
    );
    assert_eq!(
        start(Period::Week, "2026-01-05T00:00:00+01:00", tz),
        "2026-01-04T23:00:00Z"
    );
    assert_eq!(
        start(Period::Month, "2026-01-01T00:10:00+01:00", tz),
        "2025-12-31T23:00:00Z"
    );
}

#[test]
fn a_range_across_midnight_splits_by_absolute_time() {
    let tz = Europe::Berlin;
    let (from, to) = (
        at("2026-01-31T23:45:00+01:00"),
        at("2026-02-01T00:05:00+01:00"),
    );
    let expect = vec![
        (at("2026-01-30T23:00:00Z"), 75.0),
        (at("2026-01-31T23:00:00Z"), 25.0),
    ];
    assert_eq!(split_amount(Period::Day, from, to, 100.0, tz), expect);
    let months = split_amount(Period::Month, from, to, 100.0, tz);
    assert_eq!(
        months,
        vec![
            (at("2025-12-31T23:00:00Z"), 75.0),
            (at("2026-01-31T23:00:00Z"), 25.0)
        ]
    );
    assert_eq!(
        split_amount(Period::Week, from, to, 100.0, tz),
        vec![(at("2026-01-25T23:00:00Z"), 100.0)]
    );
    // An instant goes to the bucket that contains it.
    assert_eq!(
        split_amount(Period::Hour, to, to, 7.0, tz),
        vec![(at("2026-01-31T23:00:00Z"), 7.0)]
    );
    assert!(split_range(Period::Hour, to, from, tz).is_empty());
}

#[test]
fn spring_forward_hour_split_gives_equal_halves() {
    // 01:30 CET - 03:30 CEST is one real hour: half in local 01:00, half in local 03:00.
    let (from, to) = (
        at("2026-03-29T01:30:00+01:00"),
        at("2026-03-29T03:30:00+02:00"),
    );
    let split = split_amount(Period::Hour, from, to, 60.0, Europe::Berlin);
    assert_eq!(
        split,
        vec![
            (at("2026-03-29T00:00:00Z"), 30.0),
            (at("2026-03-29T01:00:00Z"), 30.0)
        ]
    );
}

#[test]
fn nonexistent_midnight_starts_the_day_after_the_gap() {
    // Santiago springs forward at 24:00 on Saturday 2025-09-06: Sunday starts at 01:00 -03.
    let tz = America::Santiago;
    assert_eq!(
        start(Period::Day, "2025-09-07T12:00:00-03:00", tz),
        "2025-09-07T04:00:00Z"
    );
    assert_eq!(
        start(Period::Day, "2025-09-06T23:59:59-04:00", tz),
        "2025-09-06T04:00:00Z"
    );
    assert_eq!(
        next_bucket_start(Period::Day, at("2025-09-06T04:00:00Z"), tz),
        at("2025-09-07T04:00:00Z")
    );
    // The 23-hour local day is one bucket.
    let spans = split_range(
        Period::Day,
        at("2025-09-07T04:00:00Z"),
        at("2025-09-08T03:00:00Z"),
        tz,
    );
    assert_eq!(
        spans,
        vec![BucketSpan {
            period_start: at("2025-09-07T04:00:00Z"),
            from: spans[0].from,
            to: spans[0].to
        }]
    );
}

#[test]
fn repeated_midnight_starts_the_day_at_its_first_occurrence() {
    // Havana falls back from 01:00 CDT to 00:00 CST on 2025-11-02: midnight happens twice.
    let tz = America::Havana;
    assert_eq!(
        start(Period::Day, "2025-11-02T00:30:00-05:00", tz),
        "2025-11-02T04:00:00Z"
    );
}

#[test]
fn half_hour_dst_splits_conserve_the_amount() {
    // Lord Howe Island moves its clocks by 30 minutes.
    let tz = Australia::Lord_Howe;
    for period in Period::ALL {
        let (from, to) = (at("2026-04-04T12:00:00Z"), at("2026-04-05T18:00:00Z"));
        let spans = split_range(period, from, to, tz);
        assert_eq!(spans.first().unwrap().from, from);
        assert_eq!(spans.last().unwrap().to, to);
        assert!(spans
            .windows(2)
            .all(|w| w[0].to == w[1].from && w[0].period_start != w[1].period_start));
        for span in &spans {
            assert_eq!(bucket_start(period, span.from, tz), span.period_start);
            assert_eq!(
                bucket_start(period, span.to - TimeDelta::nanoseconds(1), tz),
                span.period_start
            );
        }
        let total: f64 = split_amount(period, from, to, 300.0, tz)
            .iter()
            .map(|(_, a)| a)
            .sum();
        assert!((total - 300.0).abs() < 1e-9, "{period:?} {total}");
    }
}

#[test]
fn period_serializes_lowercase() {
    assert_eq!(serde_json::to_string(&Period::Week).unwrap(), "\"week\"");
    assert_eq!(
        serde_json::from_str::<Period>("\"month\"").unwrap(),
        Period::Month
    );
    assert_eq!(Period::Hour.as_str(), "hour");
}

#[test]
fn period_names_round_trip_and_unknown_names_fail() {
    for p in Period::ALL {
        assert_eq!(p.as_str().parse::<Period>(), Ok(p));
        assert_eq!(p.to_string(), p.as_str());
    }
    let err = "Day".parse::<Period>().unwrap_err();
    assert_eq!(err.name, "Day");
    assert_eq!(
        err.to_string(),
        "unknown period \"Day\"; known periods: hour, day, week, month"
    );
    assert!("fortnight".parse::<Period>().is_err());
}

#[test]
fn day_start_is_the_first_instant_of_the_local_date_even_when_midnight_does_not_exist() {
    let zones = [
        chrono_tz::Europe::Berlin,
        chrono_tz::America::Santiago, // 2026-09-06: clocks jump from 24:00 to 01:00
        chrono_tz::Asia::Kathmandu,
        chrono_tz::Pacific::Auckland,
        chrono_tz::UTC,
    ];
    let dates = [
        "2026-03-29",
        "2026-09-06",
        "2026-10-25",
        "2026-04-05",
        "2026-01-01",
    ];
    for tz in zones {
        for date in dates {
            let date: NaiveDate = date.parse().unwrap();
            let start = day_start(date, tz);
            assert_eq!(start.with_timezone(&tz).date_naive(), date, "{tz} {date}");
            let before = start - TimeDelta::seconds(1);
            assert!(before.with_timezone(&tz).date_naive() < date, "{tz} {date}");
            assert_eq!(bucket_start(Period::Day, start, tz), start, "{tz} {date}");
        }
    }
}
