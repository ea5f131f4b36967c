//! Unit tests of the ACTIVITY_CHANGE rule.

use super::*;
use crate::insights::test_support::{at, date, local, Fixture};
use crate::insights::Outcome;
use chrono_tz::{Europe, UTC};

const KEY_W48: &str = "ACTIVITY_CHANGE/2026-W48";

/// Steps rows of `per_day` on every day of the 4 weeks before the week of `monday`.
fn previous_weeks(fx: &mut Fixture, monday: &str, per_day: f64) {
    let start = date(monday) - Days::new(28);
    for day in start.iter_days().take(28) {
        fx.day(SampleType::Steps, &day.to_string(), per_day);
    }
}

/// Steps rows from `monday` on, one per value.
fn this_week(fx: &mut Fixture, monday: &str, values: &[f64]) {
    for (day, &v) in date(monday).iter_days().zip(values) {
        fx.day(SampleType::Steps, &day.to_string(), v);
    }
}

/// A UTC fixture on `today` at 10:00, with 7,000 steps a day in the 4 weeks before
/// Monday 2026-11-23: the baseline is 7,000 steps per elapsed day.
fn w48(today: &str) -> Fixture {
    let mut fx = Fixture::new(UTC, at(&format!("{today}T10:00:00Z")));
    previous_weeks(&mut fx, "2026-11-23", 7000.0);
    fx
}

fn run(fx: &Fixture) -> Option<Outcome> {
    evaluate(&fx.inputs())
}

fn finding(fx: &Fixture) -> Option<Finding> {
    run(fx).unwrap().firing
}

#[test]
fn nothing_on_monday_and_tuesday_from_wednesday_on_an_outcome() {
    for today in ["2026-11-23", "2026-11-24"] {
        let mut fx = w48(today);
        this_week(&mut fx, "2026-11-23", &[100.0]);
        assert_eq!(run(&fx), None, "{today}");
    }
    for today in ["2026-11-25", "2026-11-29"] {
        let mut fx = w48(today);
        this_week(&mut fx, "2026-11-23", &[100.0; 6]);
        assert_eq!(run(&fx).unwrap().rule_key, KEY_W48, "{today}");
    }
}

#[test]
fn a_drop_fires_info_down_with_its_numbers() {
    // Wednesday: Monday and Tuesday 5,000 each against 14,000 → -28.6 %.
    let mut fx = w48("2026-11-25");
    this_week(&mut fx, "2026-11-23", &[5000.0, 5000.0]);
    let f = finding(&fx).unwrap();
    assert_eq!(f.insight_type, "ACTIVITY_CHANGE");
    assert_eq!(f.severity, Severity::Info);
    assert_eq!(f.direction, Some(Direction::Down));
    assert_eq!(
        f.message,
        "You have taken 10,000 steps this week so far (Monday to Tuesday), 29 percent fewer than usual \
         for this point of the week (14,000 steps, from the average of the previous 4 weeks)."
    );
    assert_eq!(f.data["week"], "2026-W48");
    assert_eq!(f.data["week_start"], "2026-11-23");
    assert_eq!(f.data["days_elapsed"], 2);
    assert_eq!(f.data["so_far_to"], "2026-11-24");
    assert_eq!(f.data["so_far_steps"], 10000.0);
    assert_eq!(f.data["baseline_steps"], 14000.0);
    assert_eq!(f.data["previous_weeks_mean_steps"], 49000.0);
    assert!((f.data["change"].as_f64().unwrap() + 2.0 / 7.0).abs() < 1e-12);
    assert_eq!(f.data["previous_weeks"][0]["week"], "2026-W47");
    assert_eq!(f.data["previous_weeks"][3]["week_start"], "2026-10-26");
    assert_eq!(f.data["previous_weeks"][3]["days_with_data"], 7);
    assert_eq!(f.data["coverage"]["min_days_per_previous_week"], 5);
}

#[test]
fn a_rise_fires_info_up() {
    let mut fx = w48("2026-11-27");
    this_week(&mut fx, "2026-11-23", &[12000.0; 4]);
    let f = finding(&fx).unwrap();
    assert_eq!(f.direction, Some(Direction::Up));
    assert_eq!(f.data["baseline_steps"], 28000.0);
    assert!(
        f.message.contains("71 percent more than usual"),
        "{}",
        f.message
    );
}

#[test]
fn exactly_twenty_percent_fires_either_way_and_just_inside_does_not() {
    // Thursday: baseline 21,000.
    let with = |so_far: f64| {
        let mut fx = w48("2026-11-26");
        this_week(&mut fx, "2026-11-23", &[so_far - 14000.0, 7000.0, 7000.0]);
        finding(&fx).map(|f| f.direction)
    };
    assert_eq!(with(25200.0), Some(Some(Direction::Up)));
    assert_eq!(with(25199.0), None);
    assert_eq!(with(16800.0), Some(Some(Direction::Down)));
    assert_eq!(with(16801.0), None);
    assert_eq!(with(21000.0), None);
}

#[test]
fn a_half_finished_today_is_not_counted() {
    // Wednesday morning with only 300 steps so far today: Monday and Tuesday are on par.
    let mut fx = w48("2026-11-25");
    this_week(&mut fx, "2026-11-23", &[7000.0, 7000.0, 300.0]);
    let outcome = run(&fx).unwrap();
    assert_eq!(outcome.firing, None);
}

#[test]
fn every_elapsed_day_of_this_week_needs_a_row() {
    let mut fx = w48("2026-11-26");
    // Monday and Wednesday, no Tuesday: 1,000 steps would be a drop, but it is not judged.
    fx.day(SampleType::Steps, "2026-11-23", 500.0)
        .day(SampleType::Steps, "2026-11-25", 500.0);
    assert_eq!(run(&fx), Some(Outcome::quiet(KEY_W48.into())));
    fx.day(SampleType::Steps, "2026-11-24", 0.0);
    assert!(finding(&fx).is_some());
}

#[test]
fn each_previous_week_needs_five_days_with_rows() {
    let drop = |remove: &[&str]| {
        let mut fx = w48("2026-11-25");
        this_week(&mut fx, "2026-11-23", &[1000.0, 1000.0]);
        let steps = fx.days.get_mut(&SampleType::Steps).unwrap();
        for d in remove {
            steps.remove(&date(d));
        }
        finding(&fx)
    };
    // Two days missing in the oldest week (5 left): evaluated, its total is 35,000.
    let five = drop(&["2026-10-26", "2026-10-27"]).unwrap();
    assert_eq!(five.data["previous_weeks"][3]["days_with_data"], 5);
    assert_eq!(five.data["previous_weeks"][3]["total_steps"], 35000.0);
    assert_eq!(five.data["previous_weeks_mean_steps"], 45500.0);
    // Three missing (4 left): not enough.
    assert_eq!(drop(&["2026-10-26", "2026-10-27", "2026-11-01"]), None);
    // The most recent previous week matters as much.
    assert_eq!(drop(&["2026-11-16", "2026-11-17", "2026-11-18"]), None);
}

#[test]
fn a_missing_previous_week_or_no_steps_at_all_is_not_enough_data() {
    let mut fx = w48("2026-11-25");
    this_week(&mut fx, "2026-11-23", &[1000.0, 1000.0]);
    let steps = fx.days.get_mut(&SampleType::Steps).unwrap();
    steps.retain(|d, _| *d >= date("2026-11-02"));
    assert_eq!(run(&fx), Some(Outcome::quiet(KEY_W48.into())));

    let empty = Fixture::new(UTC, at("2026-11-25T10:00:00Z"));
    assert_eq!(run(&empty), Some(Outcome::quiet(KEY_W48.into())));
}

#[test]
fn four_weeks_of_zero_steps_is_no_baseline_to_compare_with() {
    let mut fx = Fixture::new(UTC, at("2026-11-25T10:00:00Z"));
    previous_weeks(&mut fx, "2026-11-23", 0.0);
    this_week(&mut fx, "2026-11-23", &[5000.0, 5000.0]);
    assert_eq!(run(&fx), Some(Outcome::quiet(KEY_W48.into())));
}

#[test]
fn the_key_names_the_iso_week_and_its_year() {
    // Friday 2027-01-01 is in week 53 of 2026; Thursday 2026-01-01 in week 1 of 2026.
    let friday = Fixture::new(UTC, at("2027-01-01T10:00:00Z"));
    assert_eq!(run(&friday).unwrap().rule_key, "ACTIVITY_CHANGE/2026-W53");
    let thursday = Fixture::new(UTC, at("2026-01-01T10:00:00Z"));
    assert_eq!(run(&thursday).unwrap().rule_key, "ACTIVITY_CHANGE/2026-W01");
}

#[test]
fn spring_forward_week_in_berlin_counts_calendar_days() {
    // Wednesday 2026-04-01 00:30 CEST: the previous week (2026-03-23..29) has the 23-hour
    // Sunday. 24-hour steps back from this instant would land on the wrong dates.
    let tz = Europe::Berlin;
    let mut fx = Fixture::new(tz, local("2026-04-01T00:30", tz));
    previous_weeks(&mut fx, "2026-03-30", 7000.0);
    this_week(&mut fx, "2026-03-30", &[8400.0, 8400.0, 50_000.0]);
    let outcome = run(&fx).unwrap();
    assert_eq!(outcome.rule_key, "ACTIVITY_CHANGE/2026-W14");
    let f = outcome.firing.unwrap();
    assert_eq!(f.data["so_far_steps"], 16800.0);
    assert_eq!(f.data["baseline_steps"], 14000.0);
    assert_eq!(f.data["previous_weeks"][0]["week_start"], "2026-03-23");
    assert_eq!(f.data["previous_weeks"][0]["total_steps"], 49000.0);
    assert_eq!(f.direction, Some(Direction::Up));
}

#[test]
fn fall_back_week_in_berlin_counts_the_25_hour_sunday_once() {
    // Sunday 2026-10-25 23:30 CET (22:30Z): still Sunday locally, 6 complete days.
    let tz = Europe::Berlin;
    let mut fx = Fixture::new(tz, at("2026-10-25T22:30:00Z"));
    previous_weeks(&mut fx, "2026-10-19", 7000.0);
    this_week(&mut fx, "2026-10-19", &[5000.0; 7]);
    let outcome = run(&fx).unwrap();
    assert_eq!(outcome.rule_key, "ACTIVITY_CHANGE/2026-W43");
    let f = outcome.firing.unwrap();
    assert_eq!(f.data["days_elapsed"], 6);
    assert_eq!(f.data["so_far_steps"], 30000.0);
    assert_eq!(f.data["baseline_steps"], 42000.0);

    // The Wednesday after: the 25-hour Sunday is part of the first previous week.
    let mut next = Fixture::new(tz, local("2026-10-28T00:30", tz));
    previous_weeks(&mut next, "2026-10-26", 7000.0);
    this_week(&mut next, "2026-10-26", &[7000.0, 7000.0]);
    let outcome = run(&next).unwrap();
    assert_eq!(outcome.rule_key, "ACTIVITY_CHANGE/2026-W44");
    assert_eq!(outcome.firing, None);
}
