//! Unit tests of the per-day alerts.

use super::*;
use crate::insights::test_support::{at, date, find, keys, Fixture};
use chrono_tz::UTC;

const DAY: &str = "2026-11-27";

fn fixture() -> Fixture {
    let mut fx = Fixture::new(UTC, at("2026-11-28T08:00:00Z"));
    fx.changed(DAY);
    fx
}

fn day_row(min: f64, mean: f64, max: f64, count: u32) -> DayRow {
    DayRow {
        date: date(DAY),
        value: mean,
        min_value: min,
        max_value: max,
        sample_count: count,
    }
}

/// The outcome of `insight_type` for [`DAY`] with one row of `sample_type`.
fn alert(insight_type: &str, sample_type: SampleType, r: DayRow) -> Option<Finding> {
    let mut fx = fixture();
    fx.put(sample_type, r);
    let outcomes = evaluate(&fx.inputs());
    find(&outcomes, &format!("{insight_type}/{DAY}"))
        .firing
        .clone()
}

fn oxygen(min: f64, count: u32) -> Option<Finding> {
    alert(
        "LOW_OXYGEN",
        SampleType::OxygenSaturation,
        day_row(min, 95.0, 99.0, count),
    )
}

fn severity(f: Option<Finding>) -> Option<Severity> {
    f.map(|f| f.severity)
}

#[test]
fn low_oxygen_is_strictly_below_90_and_critical_strictly_below_85() {
    assert_eq!(severity(oxygen(90.0, 12)), None);
    assert_eq!(severity(oxygen(89.9, 12)), Some(Severity::Warning));
    assert_eq!(severity(oxygen(85.0, 12)), Some(Severity::Warning));
    assert_eq!(severity(oxygen(84.9, 12)), Some(Severity::Critical));
}

#[test]
fn low_oxygen_needs_three_readings_in_the_day() {
    assert_eq!(severity(oxygen(80.0, 2)), None);
    assert_eq!(severity(oxygen(80.0, 3)), Some(Severity::Critical));
    let f = oxygen(80.0, 3).unwrap();
    assert_eq!(f.data["sample_count"], 3);
    assert_eq!(f.data["min_sample_count"], 3);
}

#[test]
fn low_oxygen_says_what_was_checked() {
    let f = oxygen(88.0, 12).unwrap();
    assert_eq!(f.insight_type, "LOW_OXYGEN");
    assert_eq!(f.direction, Some(Direction::Down));
    assert_eq!(
        f.message,
        "Your lowest blood oxygen reading on 2026-11-27 was 88 percent, below 90 percent (12 readings that day)."
    );
    assert_eq!(f.data["date"], DAY);
    assert_eq!(f.data["field"], "min_value");
    assert_eq!(f.data["value"], 88.0);
    assert_eq!(f.data["threshold"], 90.0);
    assert_eq!(f.data["critical_below"], 85.0);
    assert_eq!(f.data["unit"], "percent");
}

#[test]
fn a_value_just_past_the_threshold_is_not_printed_as_the_threshold() {
    let f = oxygen(89.96, 5).unwrap();
    assert!(
        f.message.contains("was 89.96 percent, below 90 percent"),
        "{}",
        f.message
    );
}

#[test]
fn low_glucose_is_strictly_below_54_and_one_reading_counts() {
    let glucose = |min| {
        alert(
            "LOW_GLUCOSE",
            SampleType::BloodGlucose,
            day_row(min, min, min, 1),
        )
    };
    assert_eq!(severity(glucose(54.0)), None);
    assert_eq!(severity(glucose(53.9)), Some(Severity::Critical));
    assert_eq!(glucose(53.9).unwrap().data["unit"], "mg/dL");
}

#[test]
fn high_glucose_is_strictly_above_250_on_the_days_maximum() {
    let glucose = |max| {
        alert(
            "HIGH_GLUCOSE",
            SampleType::BloodGlucose,
            day_row(90.0, 140.0, max, 4),
        )
    };
    assert_eq!(severity(glucose(250.0)), None);
    let f = glucose(250.5).unwrap();
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(f.direction, Some(Direction::Up));
    assert_eq!(f.data["field"], "max_value");
    assert!(
        f.message.contains(
            "highest blood glucose reading on 2026-11-27 was 250.5 mg/dL, above 250 mg/dL"
        ),
        "{}",
        f.message
    );
}

#[test]
fn resting_heart_rate_alerts_read_the_days_value_with_strict_bounds() {
    let rhr = |insight: &str, value: f64| {
        alert(
            insight,
            SampleType::RestingHeartRate,
            day_row(value - 20.0, value, value + 20.0, 1),
        )
    };
    assert_eq!(severity(rhr("HIGH_RESTING_HEART_RATE", 100.0)), None);
    assert_eq!(
        severity(rhr("HIGH_RESTING_HEART_RATE", 100.5)),
        Some(Severity::Warning)
    );
    assert_eq!(severity(rhr("LOW_RESTING_HEART_RATE", 40.0)), None);
    let low = rhr("LOW_RESTING_HEART_RATE", 39.5).unwrap();
    assert_eq!(low.severity, Severity::Warning);
    assert_eq!(low.direction, Some(Direction::Down));
    // The min and max (20 bpm either side) do not trigger the day-value alerts.
    assert_eq!(severity(rhr("HIGH_RESTING_HEART_RATE", 90.0)), None);
    assert_eq!(severity(rhr("LOW_RESTING_HEART_RATE", 50.0)), None);
}

#[test]
fn a_changed_day_without_rows_resolves_every_alert_of_that_day() {
    let outcomes = evaluate(&fixture().inputs());
    assert_eq!(
        keys(&outcomes),
        [
            "LOW_OXYGEN/2026-11-27",
            "LOW_GLUCOSE/2026-11-27",
            "HIGH_GLUCOSE/2026-11-27",
            "HIGH_RESTING_HEART_RATE/2026-11-27",
            "LOW_RESTING_HEART_RATE/2026-11-27",
        ]
    );
    assert!(outcomes.iter().all(|o| o.firing.is_none()));
}

#[test]
fn only_changed_days_are_evaluated() {
    let mut fx = Fixture::new(UTC, at("2026-11-28T08:00:00Z"));
    fx.day(SampleType::BloodGlucose, "2026-11-26", 40.0)
        .day(SampleType::BloodGlucose, "2026-11-27", 300.0)
        .changed("2026-11-27")
        .changed("2026-11-20");
    let outcomes = evaluate(&fx.inputs());
    assert_eq!(outcomes.len(), 10);
    assert!(outcomes.iter().all(|o| !o.rule_key.ends_with("2026-11-26")));
    // Days in date order, alerts in table order.
    assert_eq!(outcomes[0].rule_key, "LOW_OXYGEN/2026-11-20");
    assert_eq!(outcomes[5].rule_key, "LOW_OXYGEN/2026-11-27");
    let firing: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.firing.is_some())
        .map(|o| o.rule_key.as_str())
        .collect();
    assert_eq!(firing, ["HIGH_GLUCOSE/2026-11-27"]);
}

#[test]
fn one_day_can_fire_low_and_high_glucose_at_once() {
    let mut fx = fixture();
    fx.put(SampleType::BloodGlucose, day_row(50.0, 150.0, 300.0, 6));
    let outcomes = evaluate(&fx.inputs());
    assert!(find(&outcomes, "LOW_GLUCOSE/2026-11-27").firing.is_some());
    assert!(find(&outcomes, "HIGH_GLUCOSE/2026-11-27").firing.is_some());
}
