//! Which readings become one Observation: a systolic and a diastolic reading taken together
//! form one blood-pressure panel (LOINC 85354-9); every other reading, a lone systolic or
//! diastolic one included, is an Observation of its own.
//!
//! Pairing works on a stream so an export of years of data never holds more than the
//! blood-pressure readings of one instant: [`Pairer::push`] hands back each reading's group as
//! soon as it is known, provided blood-pressure readings arrive in time order (readings of other
//! types may come in any order, interleaved or not). For a slice, [`pair_all`] sorts first.

use chrono::{DateTime, Utc};
use healthpipe_domain::{Sample, SampleType, UserId};

use crate::model::Observation;
use crate::observation::{
    bucket_observation, bucket_panel, same_sample_time, sample_observation, sample_panel, Bucket,
};
use crate::FhirError;

/// Something that becomes an Observation: a raw [`Sample`] or an aggregate [`Bucket`].
pub trait Reading: Sized {
    fn sample_type(&self) -> SampleType;
    /// The order blood-pressure readings must arrive in (a sample's start, a bucket's start).
    fn time(&self) -> DateTime<Utc>;
    /// Whether `other` was taken together with this one (apart from the type).
    fn same_time(&self, other: &Self) -> bool;
    fn observation(&self, user: UserId) -> Result<Observation, FhirError>;
    fn panel(systolic: &Self, diastolic: &Self, user: UserId) -> Result<Observation, FhirError>;
}

impl Reading for Sample {
    fn sample_type(&self) -> SampleType {
        self.sample_type
    }

    fn time(&self) -> DateTime<Utc> {
        self.start
    }

    fn same_time(&self, other: &Self) -> bool {
        same_sample_time(self, other)
    }

    fn observation(&self, user: UserId) -> Result<Observation, FhirError> {
        sample_observation(user, self)
    }

    fn panel(systolic: &Self, diastolic: &Self, user: UserId) -> Result<Observation, FhirError> {
        sample_panel(user, systolic, diastolic)
    }
}

impl Reading for Bucket {
    fn sample_type(&self) -> SampleType {
        self.row().sample_type
    }

    fn time(&self) -> DateTime<Utc> {
        self.row().period_start
    }

    fn same_time(&self, other: &Self) -> bool {
        Bucket::same_time(self, other)
    }

    fn observation(&self, user: UserId) -> Result<Observation, FhirError> {
        bucket_observation(user, self)
    }

    fn panel(systolic: &Self, diastolic: &Self, user: UserId) -> Result<Observation, FhirError> {
        bucket_panel(user, systolic, diastolic)
    }
}

/// The readings of one Observation.
#[derive(Debug, Clone, PartialEq)]
pub enum Group<R> {
    Single(R),
    Panel { systolic: R, diastolic: R },
}

impl<R: Reading> Group<R> {
    pub fn observation(&self, user: UserId) -> Result<Observation, FhirError> {
        match self {
            Group::Single(reading) => reading.observation(user),
            Group::Panel {
                systolic,
                diastolic,
            } => R::panel(systolic, diastolic, user),
        }
    }
}

/// Streaming pairing: holds the blood-pressure readings of the latest instant until a later
/// one shows that no partner can follow.
#[derive(Debug)]
pub struct Pairer<R> {
    pending: Vec<R>,
    time: Option<DateTime<Utc>>,
}

impl<R> Default for Pairer<R> {
    fn default() -> Self {
        Pairer {
            pending: Vec::new(),
            time: None,
        }
    }
}

impl<R: Reading> Pairer<R> {
    pub fn new() -> Self {
        Self::default()
    }

    /// The groups `reading` completes: itself at once unless it is a blood-pressure reading,
    /// and the held readings of an earlier instant. A blood-pressure reading earlier than one
    /// already pushed is refused: its partner may have been emitted alone already.
    pub fn push(&mut self, reading: R) -> Result<Vec<Group<R>>, FhirError> {
        if !is_blood_pressure(reading.sample_type()) {
            return Ok(vec![Group::Single(reading)]);
        }
        let time = reading.time();
        let done = match self.time {
            Some(previous) if time < previous => {
                return Err(FhirError::OutOfOrder { previous, time });
            }
            Some(previous) if time > previous => pair_up(std::mem::take(&mut self.pending)),
            _ => Vec::new(),
        };
        self.time = Some(time);
        self.pending.push(reading);
        Ok(done)
    }

    /// The groups of the readings still held.
    pub fn finish(self) -> Vec<Group<R>> {
        pair_up(self.pending)
    }
}

/// The groups of a whole slice, in time order (stable for readings of the same time).
pub fn pair_all<R: Reading>(readings: impl IntoIterator<Item = R>) -> Vec<Group<R>> {
    let mut readings: Vec<R> = readings.into_iter().collect();
    readings.sort_by_key(Reading::time);
    let mut pairer = Pairer::new();
    let mut groups = Vec::with_capacity(readings.len());
    for reading in readings {
        let done = pairer
            .push(reading)
            .expect("readings sorted by time are never out of order");
        groups.extend(done);
    }
    groups.extend(pairer.finish());
    groups
}

fn is_blood_pressure(sample_type: SampleType) -> bool {
    partner_type(sample_type).is_some()
}

fn partner_type(sample_type: SampleType) -> Option<SampleType> {
    match sample_type {
        SampleType::BloodPressureSystolic => Some(SampleType::BloodPressureDiastolic),
        SampleType::BloodPressureDiastolic => Some(SampleType::BloodPressureSystolic),
        _ => None,
    }
}

/// Pairs each reading with the first unpaired partner taken at the same time, in arrival
/// order; a reading without one stays single.
fn pair_up<R: Reading>(readings: Vec<R>) -> Vec<Group<R>> {
    let mut slots: Vec<Option<R>> = readings.into_iter().map(Some).collect();
    let mut groups = Vec::with_capacity(slots.len());
    for i in 0..slots.len() {
        let Some(reading) = slots[i].take() else {
            continue;
        };
        let partner = partner_type(reading.sample_type()).and_then(|wanted| {
            slots[i + 1..]
                .iter_mut()
                .find(|slot| {
                    slot.as_ref().is_some_and(|other| {
                        other.sample_type() == wanted && reading.same_time(other)
                    })
                })
                .and_then(Option::take)
        });
        groups.push(match partner {
            None => Group::Single(reading),
            Some(other) if reading.sample_type() == SampleType::BloodPressureSystolic => {
                Group::Panel {
                    systolic: reading,
                    diastolic: other,
                }
            }
            Some(other) => Group::Panel {
                systolic: other,
                diastolic: reading,
            },
        });
    }
    groups
}

#[cfg(test)]
#[path = "pairing_tests.rs"]
mod tests;
