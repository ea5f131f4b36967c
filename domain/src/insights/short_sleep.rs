//! SHORT_SLEEP: has the user been sleeping under 6 hours a night lately?
//!
//! A night runs from local noon to local noon and is named after the morning's date: night D
//! holds the SLEEP_ANALYSIS hour rows starting in `[local noon of D-1, local noon of D)`, so
//! sleep either side of midnight is one night, and a DST night simply has 23 or 25 hour rows.
//! The window is the 7 latest complete nights (local noon of D <= `as_of`); a night in progress
//! never counts as a short one.
//!
//! Fires (warning) when the mean over the nights with data (more than 0 minutes) is below 360
//! minutes; exactly 6 hours does not fire. Coverage: at least 5 of the 7 nights have data, so
//! two recorded nights of a week of forgetting the watch do not speak for the week.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, LocalResult, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::json;

use super::{one_decimal, Finding, Outcome, RuleInputs, Severity};

const INSIGHT_TYPE: &str = "SHORT_SLEEP";
const RULE_KEY: &str = "SHORT_SLEEP/rolling";
const NIGHTS: u64 = 7;
const MIN_NIGHTS_WITH_DATA: usize = 5;
/// Minutes: 6 hours.
const THRESHOLD_MINUTES: f64 = 360.0;

pub(super) fn evaluate(inputs: &RuleInputs) -> Outcome {
    match Week::collect(inputs).and_then(|w| w.finding(inputs.tz)) {
        Some(finding) => Outcome::firing(RULE_KEY.to_owned(), finding),
        None => Outcome::quiet(RULE_KEY.to_owned()),
    }
}

/// The earliest instant whose local time in `tz` is noon of `date` or later: local noon, its
/// first occurrence when repeated, the end of the gap when skipped.
fn local_noon(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let noon = date.and_time(NaiveTime::from_hms_opt(12, 0, 0).expect("noon is a valid time"));
    // Gaps end on a whole minute in every zone, within hours; a day bounds the search.
    for minutes in 0..=24 * 60 {
        let Some(local) = noon.checked_add_signed(TimeDelta::minutes(minutes)) else {
            break;
        };
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => return t.to_utc(),
            LocalResult::Ambiguous(a, b) => return a.to_utc().min(b.to_utc()),
            LocalResult::None => continue,
        }
    }
    noon.and_utc()
}

/// The night `instant` belongs to: the date of the local noon that ends it.
fn night_of(instant: DateTime<Utc>, tz: Tz) -> Option<NaiveDate> {
    let date = instant.with_timezone(&tz).date_naive();
    if instant >= local_noon(date, tz) {
        date.checked_add_days(Days::new(1))
    } else {
        Some(date)
    }
}

/// The minutes asleep in each of the last complete nights; only built with enough nights.
#[derive(Debug, Clone)]
struct Week {
    /// Every night of the window, oldest first, 0 for a night without rows.
    minutes: BTreeMap<NaiveDate, f64>,
}

impl Week {
    fn collect(inputs: &RuleInputs) -> Option<Week> {
        let tz = inputs.tz;
        // The night in progress at `as_of` is not complete; the one before it is.
        let last = night_of(inputs.as_of, tz)?.checked_sub_days(Days::new(1))?;
        let first = last.checked_sub_days(Days::new(NIGHTS - 1))?;
        let mut minutes: BTreeMap<NaiveDate, f64> = first
            .iter_days()
            .take(NIGHTS as usize)
            .map(|night| (night, 0.0))
            .collect();
        for row in inputs.sleep_hours {
            if let Some(total) = night_of(row.start, tz).and_then(|n| minutes.get_mut(&n)) {
                *total += row.value;
            }
        }
        let week = Week { minutes };
        (week.nights_with_data() >= MIN_NIGHTS_WITH_DATA).then_some(week)
    }

    fn nights_with_data(&self) -> usize {
        self.minutes.values().filter(|&&m| m > 0.0).count()
    }

    /// Mean minutes over the nights with data.
    fn mean_minutes(&self) -> f64 {
        let recorded: Vec<f64> = self
            .minutes
            .values()
            .copied()
            .filter(|&m| m > 0.0)
            .collect();
        recorded.iter().sum::<f64>() / recorded.len().max(1) as f64
    }

    fn finding(&self, tz: Tz) -> Option<Finding> {
        let mean = self.mean_minutes();
        if mean >= THRESHOLD_MINUTES {
            return None;
        }
        let (first, last) = (
            *self.minutes.keys().next()?,
            *self.minutes.keys().next_back()?,
        );
        let message = format!(
            "Over the last {NIGHTS} nights you slept {} hours a night on average ({} of the \
             {NIGHTS} nights have sleep data), less than {} hours.",
            one_decimal(mean / 60.0),
            self.nights_with_data(),
            one_decimal(THRESHOLD_MINUTES / 60.0),
        );
        let nights: Vec<serde_json::Value> = self
            .minutes
            .iter()
            .map(|(night, minutes)| json!({ "night": night.to_string(), "minutes": minutes }))
            .collect();
        let window_from = first
            .checked_sub_days(Days::new(1))
            .map(|d| local_noon(d, tz).to_rfc3339());
        Some(Finding {
            insight_type: INSIGHT_TYPE,
            severity: Severity::Warning,
            direction: None,
            message,
            recommendation: "A regular bedtime and wake-up time, a dark, quiet bedroom and less \
                             screen time before bed can help. Most adults need 7 or more hours \
                             of sleep."
                .to_owned(),
            data: json!({
                "mean_minutes": mean,
                "mean_hours": mean / 60.0,
                "threshold_minutes": THRESHOLD_MINUTES,
                "nights_with_data": self.nights_with_data(),
                "min_nights_with_data": MIN_NIGHTS_WITH_DATA,
                "nights_in_window": NIGHTS,
                "nights": nights,
                "window_start": first.to_string(),
                "window_end": last.to_string(),
                "window_from": window_from,
                "window_to": local_noon(last, tz).to_rfc3339(),
            }),
        })
    }
}

#[cfg(test)]
#[path = "short_sleep_tests.rs"]
mod tests;
