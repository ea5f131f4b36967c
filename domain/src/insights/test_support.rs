//! Builders shared by the insight rule tests.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::{DayRow, HourRow, Outcome, RuleInputs};
use crate::sample_type::SampleType;

pub(crate) fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// An instant from RFC 3339 text with an offset (`2026-11-25T10:00:00Z`).
pub(crate) fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// The (earliest) instant of local time `s` (`2026-11-25T10:00`) in `tz`.
pub(crate) fn local(s: &str, tz: Tz) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap();
    tz.from_local_datetime(&naive).earliest().unwrap().to_utc()
}

/// A day row with one reading: value, min and max all `value`.
pub(crate) fn row(day: NaiveDate, value: f64) -> DayRow {
    DayRow {
        date: day,
        value,
        min_value: value,
        max_value: value,
        sample_count: 1,
    }
}

/// Everything a [`RuleInputs`] borrows, owned, plus builders.
pub(crate) struct Fixture {
    pub tz: Tz,
    pub as_of: DateTime<Utc>,
    pub days: HashMap<SampleType, BTreeMap<NaiveDate, DayRow>>,
    pub sleep_hours: Vec<HourRow>,
    pub changed_days: BTreeSet<NaiveDate>,
}

impl Fixture {
    pub fn new(tz: Tz, as_of: DateTime<Utc>) -> Self {
        Fixture {
            tz,
            as_of,
            days: HashMap::new(),
            sleep_hours: Vec::new(),
            changed_days: BTreeSet::new(),
        }
    }

    pub fn inputs(&self) -> RuleInputs<'_> {
        RuleInputs {
            tz: self.tz,
            as_of: self.as_of,
            days: &self.days,
            sleep_hours: &self.sleep_hours,
            changed_days: &self.changed_days,
        }
    }

    /// Adds (or replaces) a day row of `sample_type`.
    pub fn put(&mut self, sample_type: SampleType, day_row: DayRow) -> &mut Self {
        self.days
            .entry(sample_type)
            .or_default()
            .insert(day_row.date, day_row);
        self
    }

    /// Adds a one-reading day row of `sample_type` on `day`.
    pub fn day(&mut self, sample_type: SampleType, day: &str, value: f64) -> &mut Self {
        self.put(sample_type, row(date(day), value))
    }

    /// Adds a SLEEP_ANALYSIS hour row starting at `start`.
    pub fn sleep(&mut self, start: DateTime<Utc>, minutes: f64) -> &mut Self {
        self.sleep_hours.push(HourRow {
            start,
            value: minutes,
        });
        self
    }

    pub fn changed(&mut self, day: &str) -> &mut Self {
        self.changed_days.insert(date(day));
        self
    }

    /// All outcomes of [`super::evaluate`].
    pub fn evaluate(&self) -> Vec<Outcome> {
        super::evaluate(&self.inputs())
    }
}

/// The outcome with `key`; panics when there is none.
pub(crate) fn find<'a>(outcomes: &'a [Outcome], key: &str) -> &'a Outcome {
    outcomes
        .iter()
        .find(|o| o.rule_key == key)
        .unwrap_or_else(|| panic!("no outcome {key} in {:?}", keys(outcomes)))
}

pub(crate) fn keys(outcomes: &[Outcome]) -> Vec<&str> {
    outcomes.iter().map(|o| o.rule_key.as_str()).collect()
}
