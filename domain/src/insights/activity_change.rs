//! ACTIVITY_CHANGE: is this week's step count well off the user's usual?
//!
//! This ISO week's STEPS so far against the mean of the four previous full ISO weeks,
//! pro-rated to the days elapsed. Only complete days count, so a half-finished today never
//! looks like a drop: `elapsed` is the number of days of this week before today (Monday 0 ...
//! Sunday 6), `so_far` the sum of their day values, and
//! `baseline = mean(previous 4 week totals) × elapsed / 7`. A change of 20 % or more either
//! way fires, exactly 20 % included (severity info).
//!
//! Evaluated from Wednesday on (`elapsed >= 2`): one day is too noisy a comparison, so on
//! Monday and Tuesday the rule returns nothing and leaves an earlier outcome for the week alone.
//!
//! Minimum coverage: each of the 4 previous weeks has step rows on at least 5 of its 7 days,
//! and every elapsed day of this week has a step row; otherwise the outcome is `None`. A
//! previous week's total is the sum of the rows it has (a day without a row counts 0 steps).
//!
//! The comparison is done on whole-number products (`5 × |28 × so_far − elapsed × Σ totals|`
//! against `elapsed × Σ totals`), which are exact for step counts, so exactly ±20 % fires
//! without an epsilon.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate};
use serde_json::json;

use super::{thousands, DayRow, Direction, Finding, Outcome, RuleInputs, Severity};
use crate::sample_type::SampleType;

const INSIGHT_TYPE: &str = "ACTIVITY_CHANGE";
/// Complete days of the week needed before comparing (Wednesday on).
const MIN_ELAPSED: u64 = 2;
const PREVIOUS_WEEKS: u64 = 4;
/// Step rows a previous week needs to count as a baseline week.
const MIN_DAYS_PER_PREVIOUS_WEEK: usize = 5;
/// |change| >= 1 / CHANGE_DIVISOR fires: 20 %.
const CHANGE_DIVISOR: f64 = 5.0;
const WEEKDAY_NAMES: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// The outcome for this week, or none before Wednesday.
pub(super) fn evaluate(inputs: &RuleInputs) -> Option<Outcome> {
    let today = inputs.today();
    let elapsed = u64::from(today.weekday().num_days_from_monday());
    if elapsed < MIN_ELAPSED {
        return None;
    }
    let monday = today.checked_sub_days(Days::new(elapsed))?;
    let week_label = iso_label(today);
    let key = format!("{INSIGHT_TYPE}/{week_label}");
    let empty = BTreeMap::new();
    let steps = inputs.days_of(SampleType::Steps).unwrap_or(&empty);
    let finding = Comparison::build(steps, monday, elapsed).and_then(|c| c.finding(&week_label));
    Some(match finding {
        Some(finding) => Outcome::firing(key, finding),
        None => Outcome::quiet(key),
    })
}

fn iso_label(date: NaiveDate) -> String {
    let iso = date.iso_week();
    format!("{}-W{:02}", iso.year(), iso.week())
}

/// The step rows of the `days` days from `monday`: (days with a row, sum of their values).
fn steps_in(steps: &BTreeMap<NaiveDate, DayRow>, monday: NaiveDate, days: u64) -> (usize, f64) {
    let Some(last) = days
        .checked_sub(1)
        .and_then(|d| monday.checked_add_days(Days::new(d)))
    else {
        return (0, 0.0);
    };
    steps
        .range(monday..=last)
        .fold((0, 0.0), |(n, sum), (_, row)| (n + 1, sum + row.value))
}

/// One previous week, as used for the baseline.
#[derive(Debug, Clone, Copy)]
struct PreviousWeek {
    monday: NaiveDate,
    days_with_data: usize,
    total: f64,
}

/// This week against its baseline; only built when the coverage is met.
#[derive(Debug, Clone)]
struct Comparison {
    monday: NaiveDate,
    elapsed: u64,
    so_far: f64,
    previous: Vec<PreviousWeek>,
}

impl Comparison {
    fn build(
        steps: &BTreeMap<NaiveDate, DayRow>,
        monday: NaiveDate,
        elapsed: u64,
    ) -> Option<Comparison> {
        let (this_week_days, so_far) = steps_in(steps, monday, elapsed);
        if this_week_days < elapsed as usize {
            return None;
        }
        let mut previous = Vec::new();
        for k in 1..=PREVIOUS_WEEKS {
            let start = monday.checked_sub_days(Days::new(7 * k))?;
            let (days_with_data, total) = steps_in(steps, start, 7);
            if days_with_data < MIN_DAYS_PER_PREVIOUS_WEEK {
                return None;
            }
            previous.push(PreviousWeek {
                monday: start,
                days_with_data,
                total,
            });
        }
        Some(Comparison {
            monday,
            elapsed,
            so_far,
            previous,
        })
    }

    fn previous_sum(&self) -> f64 {
        self.previous.iter().map(|w| w.total).sum()
    }

    /// Mean weekly total of the previous weeks, pro-rated to the elapsed days.
    fn baseline(&self) -> f64 {
        self.previous_sum() / PREVIOUS_WEEKS as f64 * self.elapsed as f64 / 7.0
    }

    /// `(so_far - baseline) / baseline`; `None` without a baseline (no steps in 4 weeks).
    fn change(&self) -> Option<f64> {
        let baseline = self.baseline();
        (baseline > 0.0).then(|| (self.so_far - baseline) / baseline)
    }

    /// Whether |change| >= 20 %. With `baseline = Σ × elapsed / 28`, `|so_far − baseline| >=
    /// baseline / 5` is `5 × |28 × so_far − elapsed × Σ| >= elapsed × Σ`: no division, no 0.2.
    fn is_large(&self) -> bool {
        let scaled_baseline = self.elapsed as f64 * self.previous_sum();
        let scaled_so_far = (7 * PREVIOUS_WEEKS) as f64 * self.so_far;
        scaled_baseline > 0.0
            && CHANGE_DIVISOR * (scaled_so_far - scaled_baseline).abs() >= scaled_baseline
    }

    fn finding(&self, week_label: &str) -> Option<Finding> {
        let change = self.change()?;
        if !self.is_large() {
            return None;
        }
        let direction = if change > 0.0 {
            Direction::Up
        } else {
            Direction::Down
        };
        let (more_or_fewer, recommendation) = match direction {
            Direction::Up => (
                "more",
                "Nice work. If you are building up, increase gradually and leave room for rest days.",
            ),
            Direction::Down => (
                "fewer",
                "Short walks spread over the day add up: a walk after meals or taking the stairs \
                 can help you get back to your usual level.",
            ),
        };
        let last_day = WEEKDAY_NAMES[(self.elapsed as usize - 1).min(6)];
        let message = format!(
            "You have taken {} steps this week so far (Monday to {last_day}), {:.0} percent {more_or_fewer} \
             than usual for this point of the week ({} steps, from the average of the previous {} \
             weeks).",
            thousands(self.so_far),
            (change * 100.0).abs(),
            thousands(self.baseline()),
            PREVIOUS_WEEKS,
        );
        Some(Finding {
            insight_type: INSIGHT_TYPE,
            severity: Severity::Info,
            direction: Some(direction),
            message,
            recommendation: recommendation.to_owned(),
            data: self.data(week_label, change),
        })
    }

    fn data(&self, week_label: &str, change: f64) -> serde_json::Value {
        let previous: Vec<serde_json::Value> = self
            .previous
            .iter()
            .map(|w| {
                json!({
                    "week": iso_label(w.monday),
                    "week_start": w.monday.to_string(),
                    "total_steps": w.total,
                    "days_with_data": w.days_with_data,
                })
            })
            .collect();
        let last_elapsed = self
            .monday
            .checked_add_days(Days::new(self.elapsed.saturating_sub(1)))
            .unwrap_or(self.monday);
        json!({
            "week": week_label,
            "week_start": self.monday.to_string(),
            "days_elapsed": self.elapsed,
            "so_far_from": self.monday.to_string(),
            "so_far_to": last_elapsed.to_string(),
            "so_far_steps": self.so_far,
            "baseline_steps": self.baseline(),
            "previous_weeks_mean_steps": self.previous_sum() / PREVIOUS_WEEKS as f64,
            "change": change,
            "change_percent": change * 100.0,
            "threshold_percent": 100.0 / CHANGE_DIVISOR,
            "previous_weeks": previous,
            "coverage": {
                "this_week_days_with_data": self.elapsed,
                "this_week_days_required": self.elapsed,
                "min_days_per_previous_week": MIN_DAYS_PER_PREVIOUS_WEEK,
            },
        })
    }
}

#[cfg(test)]
#[path = "activity_change_tests.rs"]
mod tests;
