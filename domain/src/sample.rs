//! The stored form of a sample as deduplication and aggregation see it, and the input clean-up
//! of the contract (rules 1 and 2 of "Input clean-up").

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::sample_type::SampleType;
use crate::validation::ValidSample;

/// One stored sample of one user, value in the type's canonical unit.
///
/// Expected to satisfy `start <= end` and a finite value (a [`ValidSample`] does); should an
/// `end` before `start` slip through, deduplication treats the sample as instantaneous at `start`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub id: String,
    pub device_id: String,
    pub sample_type: SampleType,
    pub value: f64,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Sample {
    pub fn from_valid(
        id: impl Into<String>,
        device_id: impl Into<String>,
        valid: &ValidSample,
    ) -> Self {
        Sample {
            id: id.into(),
            device_id: device_id.into(),
            sample_type: valid.sample_type(),
            value: valid.value(),
            start: valid.start(),
            end: valid.end(),
        }
    }

    /// The end used by deduplication: never before the start.
    pub(crate) fn effective_end(&self) -> DateTime<Utc> {
        self.end.max(self.start)
    }

    /// `start == end`: a reading at one instant, covering no time.
    pub fn is_instantaneous(&self) -> bool {
        self.effective_end() == self.start
    }
}

/// Applies the clean-up rules: of samples sharing an id only the first occurrence is kept
/// (a re-send never overrides the original, even if it differs), then every sample whose id
/// is in `deleted` is removed. Order of the survivors is preserved.
pub fn clean_up<'a>(samples: &'a [Sample], deleted: &HashSet<String>) -> Vec<&'a Sample> {
    let mut seen: HashSet<&str> = HashSet::with_capacity(samples.len());
    samples
        .iter()
        .filter(|s| seen.insert(s.id.as_str()))
        .filter(|s| !deleted.contains(&s.id))
        .collect()
}

/// What a sample carrying a sync identifier (HealthKit's `HKMetadataKeySyncIdentifier`) does
/// to the identifier's current sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncReplacement<Id> {
    /// It becomes the identifier's current sample at `version`, deleting `replaces` (none
    /// for the identifier's first sample).
    Current { version: i64, replaces: Option<Id> },
    /// The same or a lower version than the current one: ignored (a re-send or a late
    /// older copy never brings back what was replaced).
    Stale,
}

/// Sync-version replacement: a missing version counts as 0, and only a strictly higher
/// version replaces the current sample (`current`: its version and id).
pub fn sync_replacement<Id: Copy>(
    current: Option<(i64, Id)>,
    version: Option<i64>,
) -> SyncReplacement<Id> {
    let version = version.unwrap_or(0);
    match current {
        Some((current, _)) if current >= version => SyncReplacement::Stale,
        current => SyncReplacement::Current {
            version,
            replaces: current.map(|(_, id)| id),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn sample(id: &str, value: f64) -> Sample {
        let t = Utc.with_ymd_and_hms(2026, 5, 4, 8, 0, 0).unwrap();
        Sample {
            id: id.into(),
            device_id: "d".into(),
            sample_type: SampleType::Steps,
            value,
            start: t,
            end: t,
        }
    }

    #[test]
    fn first_occurrence_wins_and_deleted_ids_go() {
        let samples = [
            sample("a", 1.0),
            sample("b", 2.0),
            sample("a", 3.0),
            sample("c", 4.0),
            sample("b", 5.0),
        ];
        let deleted: HashSet<String> = ["c".to_owned(), "unknown".to_owned()].into();
        let kept: Vec<(&str, f64)> = clean_up(&samples, &deleted)
            .iter()
            .map(|s| (s.id.as_str(), s.value))
            .collect();
        assert_eq!(kept, [("a", 1.0), ("b", 2.0)]);
    }

    #[test]
    fn deleting_an_id_removes_all_its_copies() {
        let samples = [sample("a", 1.0), sample("a", 2.0)];
        let deleted: HashSet<String> = ["a".to_owned()].into();
        assert!(clean_up(&samples, &deleted).is_empty());
    }

    #[test]
    fn backwards_sample_counts_as_an_instant() {
        let mut s = sample("a", 1.0);
        s.end = s.start - chrono::TimeDelta::minutes(1);
        assert!(s.is_instantaneous());
        assert_eq!(s.effective_end(), s.start);
    }

    #[test]
    fn only_a_higher_sync_version_replaces_the_current_sample() {
        let current = |version, replaces| SyncReplacement::Current { version, replaces };
        assert_eq!(sync_replacement::<u8>(None, Some(3)), current(3, None));
        assert_eq!(
            sync_replacement(Some((2, 7u8)), Some(3)),
            current(3, Some(7))
        );
        assert_eq!(
            sync_replacement(Some((3, 7u8)), Some(3)),
            SyncReplacement::Stale
        );
        assert_eq!(
            sync_replacement(Some((3, 7u8)), Some(1)),
            SyncReplacement::Stale
        );
        // No version is version 0: it replaces nothing, and any version replaces it.
        assert_eq!(sync_replacement::<u8>(None, None), current(0, None));
        assert_eq!(
            sync_replacement(Some((0, 7u8)), None),
            SyncReplacement::Stale
        );
        assert_eq!(
            sync_replacement(Some((0, 7u8)), Some(1)),
            current(1, Some(7))
        );
    }
}
