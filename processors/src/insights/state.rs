//! The insights processor's working state for one user, in memory for one batch: the
//! aggregate rows the rules read, the active insights, and how each event changes them.
//! No I/O: `mod.rs` loads the state, feeds it the batch's events in log order and writes
//! back what changed, so the result depends only on the events, never on batch boundaries.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use healthpipe_domain::insights::lifecycle::{step, Active, Step};
use healthpipe_domain::insights::{evaluate, DayRow, Finding, HourRow, Outcome, RuleInputs};
use healthpipe_domain::SampleType;
use healthpipe_schemas::AggregatesUpdated;
use healthpipe_storage::projections::insights::{InputKey, InputRow, InsightRow};
use uuid::Uuid;

/// Day rows of these types feed the rules.
const DAY_TYPES: [SampleType; 4] = [
    SampleType::RestingHeartRate,
    SampleType::Steps,
    SampleType::OxygenSaturation,
    SampleType::BloodGlucose,
];

/// Whether the rules read rows of this type and period (SLEEP_ANALYSIS by the hour, for
/// noon-to-noon nights; the others by the local day).
pub fn wanted(sample_type: SampleType, period: &str) -> bool {
    match period {
        "day" => DAY_TYPES.contains(&sample_type),
        "hour" => sample_type == SampleType::SleepAnalysis,
        _ => false,
    }
}

/// How many local days before the evaluation day the rules look back (ACTIVITY_CHANGE: this
/// week and the four before it), with a margin for zone offsets.
pub const LOOKBACK_DAYS: i64 = 37;

/// Everything the batch knows about one user.
#[derive(Debug, Clone)]
pub struct UserState {
    pub user: Uuid,
    pub tz: Tz,
    /// Event time of the latest evaluation; `None` for a user seen for the first time.
    pub evaluated_at: Option<DateTime<Utc>>,
    pub inputs: HashMap<InputKey, InputRow>,
    /// Input rows this batch changed: `None` = deleted.
    pub changed_inputs: HashMap<InputKey, Option<InputRow>>,
    /// Active insights by rule key.
    pub active: HashMap<String, InsightRow>,
}

impl UserState {
    pub fn new(user: Uuid, tz: Tz, evaluated_at: Option<DateTime<Utc>>) -> Self {
        Self {
            user,
            tz,
            evaluated_at,
            inputs: HashMap::new(),
            changed_inputs: HashMap::new(),
            active: HashMap::new(),
        }
    }

    /// Applies one event and evaluates the rules as of its event time; returns the insight
    /// versions it produced (new, updated or resolved), in order.
    pub fn apply(
        &mut self,
        event: &AggregatesUpdated,
        event_time: Option<DateTime<Utc>>,
    ) -> Vec<InsightRow> {
        if let Some(tz) = event.timezone.as_deref().and_then(|z| z.parse::<Tz>().ok()) {
            self.tz = tz;
        }
        let mut changed_days = BTreeSet::new();
        for bucket in &event.buckets {
            let Ok(sample_type) = bucket.sample_type.parse::<SampleType>() else {
                continue;
            };
            let period: &'static str = match bucket.period.as_str() {
                "day" => "day",
                "hour" => "hour",
                _ => continue,
            };
            let Some(start) = DateTime::from_timestamp_micros(bucket.period_start) else {
                continue;
            };
            if !wanted(sample_type, period) {
                continue;
            }
            if period == "day" {
                changed_days.insert(start.with_timezone(&self.tz).date_naive());
            }
            let row = bucket.value.map(|value| InputRow {
                value,
                min_value: bucket.min_value.unwrap_or(value),
                max_value: bucket.max_value.unwrap_or(value),
                sample_count: u32::try_from(bucket.sample_count).unwrap_or(0),
            });
            let key = (sample_type, period, start);
            match row {
                Some(r) => self.inputs.insert(key, r),
                None => self.inputs.remove(&key),
            };
            self.changed_inputs.insert(key, row);
        }
        // Never evaluate as of an instant before the last evaluation: events from the
        // aggregation processor and the ticker may interleave slightly out of time order.
        let as_of = match (event_time, self.evaluated_at) {
            (Some(t), Some(last)) => t.max(last),
            (Some(t), None) => t,
            (None, Some(last)) => last,
            (None, None) => return Vec::new(),
        };
        self.evaluated_at = Some(as_of);
        let outcomes = self.evaluate(as_of, &changed_days);
        self.reconcile(as_of, outcomes)
    }

    fn evaluate(&self, as_of: DateTime<Utc>, changed_days: &BTreeSet<NaiveDate>) -> Vec<Outcome> {
        let mut days: HashMap<SampleType, BTreeMap<NaiveDate, DayRow>> = HashMap::new();
        let mut sleep_hours = Vec::new();
        for ((sample_type, period, start), row) in &self.inputs {
            if *period == "hour" {
                sleep_hours.push(HourRow {
                    start: *start,
                    value: row.value,
                });
                continue;
            }
            let date = start.with_timezone(&self.tz).date_naive();
            days.entry(*sample_type).or_default().insert(
                date,
                DayRow {
                    date,
                    value: row.value,
                    min_value: row.min_value,
                    max_value: row.max_value,
                    sample_count: row.sample_count,
                },
            );
        }
        evaluate(&RuleInputs {
            tz: self.tz,
            as_of,
            days: &days,
            sleep_hours: &sleep_hours,
            changed_days,
        })
    }

    /// Each outcome's step in its insight's life (see `healthpipe_domain::insights::lifecycle`),
    /// as the insight versions it writes.
    fn reconcile(&mut self, as_of: DateTime<Utc>, outcomes: Vec<Outcome>) -> Vec<InsightRow> {
        let mut versions = Vec::new();
        for outcome in outcomes {
            let active = self.active.get(&outcome.rule_key).map(|row| Active {
                id: row.id,
                created_at: row.created_at,
                content: Content::of_row(row),
            });
            let firing = outcome.firing.map(Content::of_finding);
            let row = match step(self.user, &outcome.rule_key, as_of, firing, active) {
                Step::Unchanged => continue,
                Step::Raise(active) | Step::Update(active) => {
                    let row = active_row(self.user, &outcome.rule_key, active, as_of);
                    self.active.insert(outcome.rule_key, row.clone());
                    row
                }
                Step::Resolve => {
                    let mut row = self
                        .active
                        .remove(&outcome.rule_key)
                        .expect("resolved only when active");
                    row.status = "resolved";
                    row.updated_at = as_of;
                    row
                }
            };
            versions.push(row);
        }
        versions
    }
}

/// What an insight shows, as stored: what decides whether an evaluation changed it.
#[derive(Debug, Clone, PartialEq)]
struct Content {
    insight_type: String,
    severity: String,
    direction: Option<String>,
    message: String,
    recommendation: String,
    data: serde_json::Value,
}

impl Content {
    fn of_finding(finding: Finding) -> Self {
        Content {
            insight_type: finding.insight_type.to_string(),
            severity: finding.severity.as_str().to_string(),
            direction: finding.direction.map(|d| d.as_str().to_string()),
            message: finding.message,
            recommendation: finding.recommendation,
            data: finding.data,
        }
    }

    fn of_row(row: &InsightRow) -> Self {
        Content {
            insight_type: row.insight_type.clone(),
            severity: row.severity.clone(),
            direction: row.direction.clone(),
            message: row.message.clone(),
            recommendation: row.recommendation.clone(),
            data: row.data.clone(),
        }
    }
}

fn active_row(
    user: Uuid,
    rule_key: &str,
    active: Active<Content>,
    as_of: DateTime<Utc>,
) -> InsightRow {
    let content = active.content;
    InsightRow {
        user,
        id: active.id,
        rule_key: rule_key.to_string(),
        insight_type: content.insight_type,
        severity: content.severity,
        status: "active",
        direction: content.direction,
        message: content.message,
        recommendation: content.recommendation,
        data: content.data,
        created_at: active.created_at,
        updated_at: as_of,
    }
}
