//! Unit tests of the HEART_RATE_TREND rule.

use super::*;
use crate::insights::test_support::{at, date, find, keys, Fixture};
use crate::insights::Outcome;
use chrono_tz::UTC;

const RISING: &str = "HEART_RATE_TREND/rising";
const FALLING: &str = "HEART_RATE_TREND/falling";

/// Today is 2026-11-30 in UTC: the window is 2026-11-01 ..= 2026-11-30, day x = 2026-11-(x+1).
fn fixture() -> Fixture {
    Fixture::new(UTC, at("2026-11-30T10:00:00Z"))
}

fn day_x(x: u64) -> String {
    (date("2026-11-01") + Days::new(x)).to_string()
}

/// Resting heart rate rows at window offsets `xs`, valued `f(x)`.
fn with_days(xs: &[u64], f: impl Fn(f64) -> f64) -> Fixture {
    let mut fx = fixture();
    for &x in xs {
        fx.day(SampleType::RestingHeartRate, &day_x(x), f(x as f64));
    }
    fx
}

fn run(fx: &Fixture) -> Vec<Outcome> {
    evaluate(&fx.inputs())
}

fn slope_of(outcome: &Outcome) -> f64 {
    outcome.firing.as_ref().unwrap().data["slope_bpm_per_day"]
        .as_f64()
        .unwrap()
}

/// The slope a fit against the position in the list would give: what the rule must not do.
fn index_based_slope(values: &[f64]) -> f64 {
    let xy: Vec<(f64, f64)> = values
        .iter()
        .enumerate()
        .map(|(i, &v)| (i as f64, v))
        .collect();
    slope(&xy).unwrap()
}

#[test]
fn a_rising_trend_fires_a_warning_with_its_numbers() {
    // 17 days from day 13, +0.8 bpm a day: 62 → 74.8.
    let xs: Vec<u64> = (13..30).collect();
    let outcomes = run(&with_days(&xs, |x| 62.0 + 0.8 * (x - 13.0)));
    assert_eq!(keys(&outcomes), [RISING, FALLING]);
    assert_eq!(find(&outcomes, FALLING).firing, None);
    let f = find(&outcomes, RISING).firing.clone().unwrap();
    assert_eq!(f.insight_type, "HEART_RATE_TREND");
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(f.direction, Some(Direction::Up));
    assert_eq!(
        f.message,
        "Your resting heart rate has risen by about 0.8 bpm per day over the last 30 days \
         (62 → 74.8 bpm)."
    );
    assert!((f.data["slope_bpm_per_day"].as_f64().unwrap() - 0.8).abs() < 1e-9);
    assert_eq!(f.data["first_date"], "2026-11-14");
    assert_eq!(f.data["first_value_bpm"], 62.0);
    assert_eq!(f.data["last_date"], "2026-11-30");
    assert_eq!(f.data["days_with_data"], 17);
    assert_eq!(f.data["min_days_with_data"], 7);
    assert_eq!(f.data["window_start"], "2026-11-01");
    assert_eq!(f.data["window_end"], "2026-11-30");
}

#[test]
fn a_falling_trend_fires_info_on_the_falling_key_only() {
    let xs: Vec<u64> = (0..30).collect();
    let outcomes = run(&with_days(&xs, |x| 75.0 - 0.6 * x));
    assert_eq!(find(&outcomes, RISING).firing, None);
    let f = find(&outcomes, FALLING).firing.clone().unwrap();
    assert_eq!(f.severity, Severity::Info);
    assert_eq!(f.direction, Some(Direction::Down));
    assert!(
        f.message.contains("has fallen by about 0.6 bpm per day"),
        "{}",
        f.message
    );
    assert!((slope_of(find(&outcomes, FALLING)) + 0.6).abs() < 1e-9);
}

#[test]
fn a_flat_series_resolves_both_keys() {
    let xs: Vec<u64> = (0..30).collect();
    let outcomes = run(&with_days(&xs, |x| {
        60.0 + if x % 2.0 == 0.0 { 1.0 } else { -1.0 }
    }));
    assert_eq!(
        outcomes,
        [
            Outcome::quiet(RISING.into()),
            Outcome::quiet(FALLING.into())
        ]
    );
}

#[test]
fn exactly_half_a_bpm_per_day_does_not_fire_either_way() {
    // Days 23..=29 at 50 + 0.5 x: the centred sums make the slope exactly 0.5.
    let xs: Vec<u64> = (23..30).collect();
    let up = run(&with_days(&xs, |x| 50.0 + 0.5 * x));
    assert!(up.iter().all(|o| o.firing.is_none()), "{up:?}");
    let down = run(&with_days(&xs, |x| 80.0 - 0.5 * x));
    assert!(down.iter().all(|o| o.firing.is_none()), "{down:?}");

    let steeper = run(&with_days(&xs, |x| 50.0 + 0.51 * x));
    assert!(find(&steeper, RISING).firing.is_some());
    let steeper_down = run(&with_days(&xs, |x| 80.0 - 0.51 * x));
    assert!(find(&steeper_down, FALLING).firing.is_some());
}

#[test]
fn gaps_are_fitted_by_calendar_day_not_by_position() {
    // A week of readings 5 days apart, +0.6 bpm a calendar day: by position it would be ~2.9.
    let xs = [0, 5, 10, 15, 20, 25, 29];
    let fx = with_days(&xs, |x| 60.0 + 0.6 * x);
    let outcomes = run(&fx);
    assert!((slope_of(find(&outcomes, RISING)) - 0.6).abs() < 1e-9);
    let values: Vec<f64> = xs.iter().map(|&x| 60.0 + 0.6 * x as f64).collect();
    assert!(index_based_slope(&values) > 2.5);
}

#[test]
fn an_old_plateau_and_one_recent_day_are_no_trend_by_calendar_day() {
    // Six days at 60 early in the window, then 70 on the last day: by position the slope
    // would be 1.07 bpm/day (firing), by calendar day it is 0.37 (not).
    let mut values = vec![60.0; 6];
    values.push(70.0);
    assert!(index_based_slope(&values) > 1.0);
    let fx = with_days(
        &[0, 1, 2, 3, 4, 5, 29],
        |x| if x < 29.0 { 60.0 } else { 70.0 },
    );
    let outcomes = run(&fx);
    assert!(outcomes.iter().all(|o| o.firing.is_none()), "{outcomes:?}");
}

#[test]
fn seven_days_with_data_are_needed() {
    let six = run(&with_days(&[24, 25, 26, 27, 28, 29], |x| 40.0 + 2.0 * x));
    assert_eq!(
        six,
        [
            Outcome::quiet(RISING.into()),
            Outcome::quiet(FALLING.into())
        ]
    );
    let seven = run(&with_days(&[23, 24, 25, 26, 27, 28, 29], |x| {
        40.0 + 2.0 * x
    }));
    assert_eq!(
        find(&seven, RISING).firing.as_ref().unwrap().data["days_with_data"],
        7
    );
}

#[test]
fn days_outside_the_window_are_ignored() {
    let mut fx = with_days(&[24, 25, 26, 27, 28, 29], |x| 40.0 + 2.0 * x);
    // The day before the window and a day after today do not make up the seventh day.
    fx.day(SampleType::RestingHeartRate, "2026-10-31", 10.0);
    fx.day(SampleType::RestingHeartRate, "2026-12-01", 200.0);
    assert!(run(&fx).iter().all(|o| o.firing.is_none()));
    // Today and the window's first day do.
    fx.day(SampleType::RestingHeartRate, "2026-11-01", 40.0);
    let outcomes = run(&fx);
    let f = find(&outcomes, RISING).firing.as_ref().unwrap();
    assert_eq!(f.data["days_with_data"], 7);
    assert_eq!(f.data["first_date"], "2026-11-01");
    assert_eq!(f.data["last_date"], "2026-11-30");
}

#[test]
fn no_heart_rate_rows_at_all_still_resolves_both_keys() {
    let outcomes = run(&fixture());
    assert_eq!(
        outcomes,
        [
            Outcome::quiet(RISING.into()),
            Outcome::quiet(FALLING.into())
        ]
    );
}
