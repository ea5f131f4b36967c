//! Unit tests of the SHORT_SLEEP rule.

use super::*;
use crate::insights::test_support::{at, date, local, Fixture};
use chrono_tz::{Europe, UTC};

/// A UTC fixture at 2026-11-30 13:00: the last complete night is 2026-11-30.
fn fixture() -> Fixture {
    Fixture::new(UTC, at("2026-11-30T13:00:00Z"))
}

/// `minutes` of sleep in night `morning`: full hours from 23:00 the evening before, local.
fn night(fx: &mut Fixture, morning: &str, minutes: f64) {
    let evening = date(morning) - Days::new(1);
    let mut start = local(&format!("{evening}T23:00"), fx.tz);
    let mut left = minutes;
    while left > 0.0 {
        fx.sleep(start, left.min(60.0));
        left -= 60.0;
        start += TimeDelta::hours(1);
    }
}

/// The 7 nights ending 2026-11-30, with these minutes (0 = no rows).
fn week_of(minutes: [f64; 7]) -> Fixture {
    let mut fx = fixture();
    for (d, m) in date("2026-11-24").iter_days().zip(minutes) {
        night(&mut fx, &d.to_string(), m);
    }
    fx
}

fn finding(fx: &Fixture) -> Option<Finding> {
    let outcome = evaluate(&fx.inputs());
    assert_eq!(outcome.rule_key, "SHORT_SLEEP/rolling");
    outcome.firing
}

fn night_minutes(f: &Finding, night: &str) -> f64 {
    f.data["nights"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["night"] == night)
        .unwrap_or_else(|| panic!("night {night} not in {}", f.data))["minutes"]
        .as_f64()
        .unwrap()
}

#[test]
fn short_nights_fire_a_warning_with_their_numbers() {
    let f = finding(&week_of([300.0; 7])).unwrap();
    assert_eq!(f.insight_type, "SHORT_SLEEP");
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(f.direction, None);
    assert_eq!(
        f.message,
        "Over the last 7 nights you slept 5 hours a night on average (7 of the 7 nights have \
         sleep data), less than 6 hours."
    );
    assert_eq!(f.data["mean_hours"], 5.0);
    assert_eq!(f.data["nights_with_data"], 7);
    assert_eq!(f.data["min_nights_with_data"], 5);
    assert_eq!(f.data["window_start"], "2026-11-24");
    assert_eq!(f.data["window_end"], "2026-11-30");
    assert_eq!(f.data["window_from"], "2026-11-23T12:00:00+00:00");
    assert_eq!(f.data["window_to"], "2026-11-30T12:00:00+00:00");
    assert_eq!(f.data["nights"].as_array().unwrap().len(), 7);
}

#[test]
fn six_hours_exactly_does_not_fire_one_minute_less_does() {
    assert_eq!(finding(&week_of([360.0; 7])), None);
    assert_eq!(finding(&week_of([420.0; 7])), None);
    let mut minutes = [360.0; 7];
    minutes[3] = 353.0;
    let f = finding(&week_of(minutes)).unwrap();
    assert_eq!(f.data["mean_minutes"], 359.0);
}

#[test]
fn five_nights_with_data_are_needed_and_the_mean_skips_empty_nights() {
    let four = week_of([0.0, 300.0, 0.0, 300.0, 0.0, 300.0, 300.0]);
    assert_eq!(finding(&four), None);
    let five = week_of([0.0, 300.0, 0.0, 300.0, 300.0, 300.0, 300.0]);
    let f = finding(&five).unwrap();
    assert_eq!(f.data["nights_with_data"], 5);
    // 300, not 1,500 / 7.
    assert_eq!(f.data["mean_minutes"], 300.0);
    assert_eq!(night_minutes(&f, "2026-11-24"), 0.0);
}

#[test]
fn sleep_across_local_midnight_is_one_night() {
    let mut fx = week_of([300.0; 7]);
    // Night 2026-11-27 gets an extra 22:00 hour the evening before and a 06:00 hour.
    fx.sleep(at("2026-11-26T22:00:00Z"), 60.0)
        .sleep(at("2026-11-27T06:00:00Z"), 30.0);
    let f = finding(&fx).unwrap();
    assert_eq!(night_minutes(&f, "2026-11-27"), 390.0);
    assert_eq!(night_minutes(&f, "2026-11-26"), 300.0);
}

#[test]
fn a_night_runs_from_local_noon_to_local_noon() {
    let mut fx = week_of([300.0; 7]);
    // 11:00 still belongs to the night ending that noon; 12:00 to the next one.
    fx.sleep(at("2026-11-26T11:00:00Z"), 20.0)
        .sleep(at("2026-11-26T12:00:00Z"), 40.0);
    let f = finding(&fx).unwrap();
    assert_eq!(night_minutes(&f, "2026-11-26"), 320.0);
    assert_eq!(night_minutes(&f, "2026-11-27"), 340.0);
}

#[test]
fn only_complete_nights_count() {
    // At 11:59 on 2026-11-30 the night 2026-11-30 is still in progress: the window is
    // 2026-11-23 ..= 2026-11-29, where only 4 nights have data.
    let mut fx = week_of([0.0, 0.0, 300.0, 300.0, 300.0, 300.0, 300.0]);
    fx.as_of = at("2026-11-30T11:59:00Z");
    assert_eq!(finding(&fx), None);
    // At noon exactly it is complete.
    fx.as_of = at("2026-11-30T12:00:00Z");
    let f = finding(&fx).unwrap();
    assert_eq!(f.data["window_end"], "2026-11-30");
}

#[test]
fn a_fall_back_night_has_25_hour_rows_and_they_all_count_once() {
    // Berlin, night 2026-10-25: 25 hours from noon CEST on the 24th to noon CET on the 25th.
    let tz = Europe::Berlin;
    let mut fx = Fixture::new(tz, local("2026-10-25T18:00", tz));
    let (from, to) = (local("2026-10-24T12:00", tz), local("2026-10-25T12:00", tz));
    assert_eq!(to - from, TimeDelta::hours(25));
    let mut start = from;
    while start < to {
        fx.sleep(start, 12.0);
        start += TimeDelta::hours(1);
    }
    // The hour before and the hour after belong to the neighbouring nights.
    fx.sleep(from - TimeDelta::hours(1), 60.0).sleep(to, 60.0);
    for morning in ["2026-10-20", "2026-10-21", "2026-10-22", "2026-10-23"] {
        night(&mut fx, morning, 300.0);
    }
    let f = finding(&fx).unwrap();
    assert_eq!(night_minutes(&f, "2026-10-25"), 300.0);
    assert_eq!(night_minutes(&f, "2026-10-24"), 60.0);
    assert_eq!(f.data["window_end"], "2026-10-25");
    assert_eq!(f.data["window_to"], "2026-10-25T11:00:00+00:00");
}

#[test]
fn a_spring_forward_night_has_23_hour_rows() {
    let tz = Europe::Berlin;
    let mut fx = Fixture::new(tz, local("2026-03-29T12:00", tz));
    let (from, to) = (local("2026-03-28T12:00", tz), local("2026-03-29T12:00", tz));
    let mut start = from;
    let mut rows = 0;
    while start < to {
        fx.sleep(start, 10.0);
        start += TimeDelta::hours(1);
        rows += 1;
    }
    assert_eq!(rows, 23);
    for morning in ["2026-03-24", "2026-03-25", "2026-03-26", "2026-03-27"] {
        night(&mut fx, morning, 300.0);
    }
    let f = finding(&fx).unwrap();
    assert_eq!(night_minutes(&f, "2026-03-29"), 230.0);
    assert_eq!(f.data["window_from"], "2026-03-22T11:00:00+00:00");
    assert_eq!(f.data["window_to"], "2026-03-29T10:00:00+00:00");
}

#[test]
fn rows_outside_the_window_and_no_rows_at_all_do_not_fire() {
    assert_eq!(finding(&fixture()), None);
    let mut fx = week_of([0.0, 0.0, 0.0, 300.0, 300.0, 300.0, 300.0]);
    // A short night before the window and the night in progress are not in it.
    night(&mut fx, "2026-11-23", 200.0);
    fx.sleep(at("2026-11-30T12:30:00Z"), 30.0);
    assert_eq!(finding(&fx), None);
}

#[test]
fn local_noon_is_the_earliest_instant_at_or_after_noon() {
    assert_eq!(
        local_noon(date("2026-07-01"), Europe::Berlin),
        at("2026-07-01T10:00:00Z")
    );
    assert_eq!(
        local_noon(date("2026-07-01"), chrono_tz::Asia::Kolkata),
        at("2026-07-01T06:30:00Z")
    );
    // Samoa skipped 2011-12-30 entirely (UTC-10 to UTC+14 at midnight): that day's noon is
    // the instant the gap ended, so night 2011-12-30 is empty rather than undefined.
    let apia = chrono_tz::Pacific::Apia;
    assert_eq!(
        local_noon(date("2011-12-30"), apia),
        at("2011-12-30T10:00:00Z")
    );
    assert_eq!(
        night_of(at("2011-12-30T09:59:00Z"), apia),
        Some(date("2011-12-30"))
    );
    assert_eq!(
        night_of(at("2011-12-30T10:00:00Z"), apia),
        Some(date("2011-12-31"))
    );
}
