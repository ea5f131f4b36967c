//! Per-day alerts: one reading or day value past a threshold, on a local day that just changed.
//!
//! | insight                   | reads                         | fires when      | severity                    | min samples |
//! |---------------------------|-------------------------------|-----------------|-----------------------------|-------------|
//! | `LOW_OXYGEN`              | OXYGEN_SATURATION `min_value` | < 90 percent    | critical < 85, else warning | 3           |
//! | `LOW_GLUCOSE`             | BLOOD_GLUCOSE `min_value`     | < 54 mg/dL      | critical                    | 1           |
//! | `HIGH_GLUCOSE`            | BLOOD_GLUCOSE `max_value`     | > 250 mg/dL     | warning                     | 1           |
//! | `HIGH_RESTING_HEART_RATE` | RESTING_HEART_RATE `value`    | > 100 bpm       | warning                     | 1           |
//! | `LOW_RESTING_HEART_RATE`  | RESTING_HEART_RATE `value`    | < 40 bpm        | warning                     | 1           |
//!
//! Thresholds are strict: a value exactly at one does not fire. Blood oxygen needs 3 readings in
//! the day so that one sensor glitch does not alarm; glucose meters report single readings, so
//! one counts. Messages give values in the type's canonical unit (`percent`, `mg/dL`, `bpm`).
//! Every alert gets an outcome for every changed day, `None` when the day has no
//! row (its data was deleted) or too few samples, so a stale alert resolves.

use chrono::NaiveDate;
use serde_json::json;

use super::{one_decimal, DayRow, Direction, Finding, Outcome, RuleInputs, Severity};
use crate::sample_type::SampleType;

/// Which number of the day row an alert reads.
#[derive(Debug, Clone, Copy)]
enum Reading {
    Min,
    Max,
    Value,
}

impl Reading {
    fn of(self, row: &DayRow) -> f64 {
        match self {
            Reading::Min => row.min_value,
            Reading::Max => row.max_value,
            Reading::Value => row.value,
        }
    }

    fn field(self) -> &'static str {
        match self {
            Reading::Min => "min_value",
            Reading::Max => "max_value",
            Reading::Value => "value",
        }
    }
}

/// One alert: the row it reads, the threshold and what to say.
#[derive(Debug, Clone, Copy)]
struct Alert {
    insight_type: &'static str,
    sample_type: SampleType,
    reading: Reading,
    /// `Down`: fires below `threshold`; `Up`: fires above it.
    direction: Direction,
    threshold: f64,
    severity: Severity,
    /// Below this, the severity is critical (blood oxygen only).
    critical_below: Option<f64>,
    min_samples: u32,
    /// "lowest blood oxygen reading", completing "Your ... on <date> was".
    subject: &'static str,
    recommendation: &'static str,
}

const ALERTS: [Alert; 5] = [
    Alert {
        insight_type: "LOW_OXYGEN",
        sample_type: SampleType::OxygenSaturation,
        reading: Reading::Min,
        direction: Direction::Down,
        threshold: 90.0,
        severity: Severity::Warning,
        critical_below: Some(85.0),
        min_samples: 3,
        subject: "lowest blood oxygen reading",
        recommendation: "Check that the sensor sits snugly and measure again at rest. If low \
                         readings continue or you feel short of breath, dizzy or confused, seek \
                         medical help promptly.",
    },
    Alert {
        insight_type: "LOW_GLUCOSE",
        sample_type: SampleType::BloodGlucose,
        reading: Reading::Min,
        direction: Direction::Down,
        threshold: 54.0,
        severity: Severity::Critical,
        critical_below: None,
        min_samples: 1,
        subject: "lowest blood glucose reading",
        recommendation: "If you have not already, follow the plan for low blood sugar you agreed \
                         with your care team and measure again. If you feel unwell or cannot \
                         treat it, seek medical help right away.",
    },
    Alert {
        insight_type: "HIGH_GLUCOSE",
        sample_type: SampleType::BloodGlucose,
        reading: Reading::Max,
        direction: Direction::Up,
        threshold: 250.0,
        severity: Severity::Warning,
        critical_below: None,
        min_samples: 1,
        subject: "highest blood glucose reading",
        recommendation: "Measure again and follow the plan for high blood sugar you agreed with \
                         your care team. If readings stay high or you feel unwell, contact a \
                         healthcare professional.",
    },
    Alert {
        insight_type: "HIGH_RESTING_HEART_RATE",
        sample_type: SampleType::RestingHeartRate,
        reading: Reading::Value,
        direction: Direction::Up,
        threshold: 100.0,
        severity: Severity::Warning,
        critical_below: None,
        min_samples: 1,
        subject: "resting heart rate",
        recommendation: "Illness, stress, caffeine, alcohol and little sleep can raise your \
                         resting heart rate. If it stays high or you feel unwell, consider \
                         talking to a healthcare professional.",
    },
    Alert {
        insight_type: "LOW_RESTING_HEART_RATE",
        sample_type: SampleType::RestingHeartRate,
        reading: Reading::Value,
        direction: Direction::Down,
        threshold: 40.0,
        severity: Severity::Warning,
        critical_below: None,
        min_samples: 1,
        subject: "resting heart rate",
        recommendation: "A low resting heart rate can be normal for very fit people. If you also \
                         feel dizzy, faint or short of breath, consider talking to a healthcare \
                         professional.",
    },
];

/// Every alert for every changed day, by day, then in table order.
pub(super) fn evaluate(inputs: &RuleInputs) -> Vec<Outcome> {
    let mut outcomes = Vec::with_capacity(inputs.changed_days.len() * ALERTS.len());
    for &date in inputs.changed_days {
        for alert in &ALERTS {
            let key = format!("{}/{date}", alert.insight_type);
            let row = inputs.day(alert.sample_type, date);
            outcomes.push(match row.and_then(|r| alert.check(date, r)) {
                Some(finding) => Outcome::firing(key, finding),
                None => Outcome::quiet(key),
            });
        }
    }
    outcomes
}

impl Alert {
    fn check(&self, date: NaiveDate, row: &DayRow) -> Option<Finding> {
        if row.sample_count < self.min_samples {
            return None;
        }
        let value = self.reading.of(row);
        let past = match self.direction {
            Direction::Down => value < self.threshold,
            Direction::Up => value > self.threshold,
        };
        past.then(|| self.finding(date, row, value))
    }

    fn severity(&self, value: f64) -> Severity {
        match self.critical_below {
            Some(limit) if value < limit => Severity::Critical,
            _ => self.severity,
        }
    }

    fn finding(&self, date: NaiveDate, row: &DayRow, value: f64) -> Finding {
        let (shown, threshold) = beside(value, self.threshold);
        let (side, severity) = (
            match self.direction {
                Direction::Down => "below",
                Direction::Up => "above",
            },
            self.severity(value),
        );
        let readings = match row.sample_count {
            1 => "1 reading".to_owned(),
            n => format!("{n} readings"),
        };
        let message = format!(
            "Your {} on {date} was {shown} {unit}, {side} {threshold} {unit} ({readings} that day).",
            self.subject,
            unit = self.sample_type.canonical_unit().symbol(),
        );
        Finding {
            insight_type: self.insight_type,
            severity,
            direction: Some(self.direction),
            message,
            recommendation: self.recommendation.to_owned(),
            data: json!({
                "date": date.to_string(),
                "sample_type": self.sample_type.as_str(),
                "field": self.reading.field(),
                "value": value,
                "threshold": self.threshold,
                "comparison": side,
                "critical_below": self.critical_below,
                "unit": self.sample_type.canonical_unit(),
                "day_value": row.value,
                "day_min": row.min_value,
                "day_max": row.max_value,
                "sample_count": row.sample_count,
                "min_sample_count": self.min_samples,
            }),
        }
    }
}

/// `value` and `threshold` for a message: one decimal, or all of them when that would print a
/// value just past the threshold as the threshold itself ("was 90 percent, below 90 percent").
fn beside(value: f64, threshold: f64) -> (String, String) {
    let (shown, limit) = (one_decimal(value), one_decimal(threshold));
    if shown == limit {
        return (value.to_string(), limit);
    }
    (shown, limit)
}

#[cfg(test)]
#[path = "alerts_tests.rs"]
mod tests;
