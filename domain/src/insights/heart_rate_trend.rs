//! HEART_RATE_TREND: is the resting heart rate drifting over the last 30 days?
//!
//! The least-squares slope of the daily RESTING_HEART_RATE `value` over the local days
//! `today - 29 ..= today`, with x = the day's offset from the window start. Days without a row
//! are gaps, not neighbours: fitting against the position in the list of days with data would
//! turn three readings a week apart into a three-day trend. Coverage: at least 7 days with data.
//!
//! Beyond +0.5 bpm per day is a rising trend (warning), beyond -0.5 a falling one (info); the
//! boundary itself does not fire. Both keys, `HEART_RATE_TREND/rising` and `/falling`, get an
//! outcome on every evaluation, so a trend that flips resolves the old one.

use chrono::{Days, NaiveDate};
use serde_json::json;

use super::{one_decimal, Direction, Finding, Outcome, RuleInputs, Severity};
use crate::sample_type::SampleType;

const INSIGHT_TYPE: &str = "HEART_RATE_TREND";
/// Local days in the window, today included.
const WINDOW_DAYS: u64 = 30;
/// Fewer days than this fit a line to noise.
const MIN_DAYS: usize = 7;
/// bpm per day; 0.5 a day is 15 bpm over the window.
const THRESHOLD: f64 = 0.5;

/// The two outcomes, rising first.
pub(super) fn evaluate(inputs: &RuleInputs) -> Vec<Outcome> {
    let today = inputs.today();
    let start = today
        .checked_sub_days(Days::new(WINDOW_DAYS - 1))
        .unwrap_or(NaiveDate::MIN);
    let points: Vec<(NaiveDate, f64)> = inputs
        .days_of(SampleType::RestingHeartRate)
        .map(|days| {
            days.range(start..=today)
                .map(|(d, r)| (*d, r.value))
                .collect()
        })
        .unwrap_or_default();
    let trend = Trend::fit(start, today, &points);
    let rising = trend.filter(|t| t.slope > THRESHOLD);
    let falling = trend.filter(|t| t.slope < -THRESHOLD);
    vec![
        outcome("rising", rising.map(|t| t.finding(Direction::Up))),
        outcome("falling", falling.map(|t| t.finding(Direction::Down))),
    ]
}

fn outcome(name: &str, finding: Option<Finding>) -> Outcome {
    let key = format!("{INSIGHT_TYPE}/{name}");
    match finding {
        Some(f) => Outcome::firing(key, f),
        None => Outcome::quiet(key),
    }
}

/// A fitted window; only built with enough days.
#[derive(Debug, Clone, Copy)]
struct Trend {
    start: NaiveDate,
    end: NaiveDate,
    /// bpm per day.
    slope: f64,
    first: (NaiveDate, f64),
    last: (NaiveDate, f64),
    days_with_data: usize,
}

impl Trend {
    /// `points` sorted by date, inside `start..=end`.
    fn fit(start: NaiveDate, end: NaiveDate, points: &[(NaiveDate, f64)]) -> Option<Trend> {
        if points.len() < MIN_DAYS {
            return None;
        }
        let xy: Vec<(f64, f64)> = points
            .iter()
            .map(|&(d, v)| ((d - start).num_days() as f64, v))
            .collect();
        Some(Trend {
            start,
            end,
            slope: slope(&xy)?,
            first: *points.first()?,
            last: *points.last()?,
            days_with_data: points.len(),
        })
    }

    fn finding(&self, direction: Direction) -> Finding {
        let (severity, verb) = match direction {
            Direction::Up => (Severity::Warning, "risen"),
            Direction::Down => (Severity::Info, "fallen"),
        };
        let message = format!(
            "Your resting heart rate has {verb} by about {} bpm per day over the last {WINDOW_DAYS} \
             days ({} → {} bpm).",
            one_decimal(self.slope.abs()),
            one_decimal(self.first.1),
            one_decimal(self.last.1),
        );
        let recommendation = match direction {
            Direction::Up => {
                "Stress, illness, poor sleep, alcohol and less training can all raise your resting \
                 heart rate. If it keeps rising or you feel unwell, consider talking to a \
                 healthcare professional."
            }
            Direction::Down => {
                "A falling resting heart rate often comes with better fitness. If you also feel \
                 dizzy, faint or unusually tired, consider talking to a healthcare professional."
            }
        };
        Finding {
            insight_type: INSIGHT_TYPE,
            severity,
            direction: Some(direction),
            message,
            recommendation: recommendation.to_owned(),
            data: json!({
                "slope_bpm_per_day": self.slope,
                "threshold_bpm_per_day": THRESHOLD,
                "first_date": self.first.0.to_string(),
                "first_value_bpm": self.first.1,
                "last_date": self.last.0.to_string(),
                "last_value_bpm": self.last.1,
                "days_with_data": self.days_with_data,
                "min_days_with_data": MIN_DAYS,
                "window_start": self.start.to_string(),
                "window_end": self.end.to_string(),
                "window_days": WINDOW_DAYS,
            }),
        }
    }
}

/// Ordinary least-squares slope of `y` on `x`, from the centred sums (no cancellation between
/// large products). `None` when all x are equal.
fn slope(xy: &[(f64, f64)]) -> Option<f64> {
    let n = xy.len() as f64;
    let mean_x = xy.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = xy.iter().map(|p| p.1).sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for &(x, y) in xy {
        sxy += (x - mean_x) * (y - mean_y);
        sxx += (x - mean_x) * (x - mean_x);
    }
    (sxx > 0.0).then(|| sxy / sxx)
}

#[cfg(test)]
#[path = "heart_rate_trend_tests.rs"]
mod tests;
