//! Device ranking: which device's data wins where devices overlap.
//!
//! Ranking is per sample type: a chest strap may be trusted over a watch for heart rate but not
//! for energy. Equal priorities are broken by device id as a plain string (the smaller id ranks
//! higher), so the order is total and never depends on input order.

use std::cmp::{Ordering, Reverse};
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::sample_type::SampleType;

/// One device's priorities: `priority` for every type, unless `type_priorities` has the type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevicePriority {
    pub priority: i64,
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    pub type_priorities: HashMap<SampleType, i64>,
}

/// The ranking source: device id to priorities, higher priority wins.
///
/// A device that is not listed ranks below every listed device (among unlisted devices the
/// smaller id ranks higher): data from a device nobody has ranked should never hide data from
/// one that has been ranked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeviceRanking {
    devices: HashMap<String, DevicePriority>,
}

impl DeviceRanking {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the general priority of a device, keeping its per-type overrides.
    pub fn set_priority(&mut self, device_id: impl Into<String>, priority: i64) -> &mut Self {
        self.devices.entry(device_id.into()).or_default().priority = priority;
        self
    }

    /// Sets a per-type override. A device first seen here gets general priority 0.
    pub fn set_type_priority(
        &mut self,
        device_id: impl Into<String>,
        sample_type: SampleType,
        priority: i64,
    ) -> &mut Self {
        self.devices
            .entry(device_id.into())
            .or_default()
            .type_priorities
            .insert(sample_type, priority);
        self
    }

    /// The priority a device has for a type, or `None` for a device that is not listed.
    pub fn effective_priority(&self, device_id: &str, sample_type: SampleType) -> Option<i64> {
        let device = self.devices.get(device_id)?;
        Some(
            device
                .type_priorities
                .get(&sample_type)
                .copied()
                .unwrap_or(device.priority),
        )
    }

    /// `Less` when device `a` ranks higher than device `b` for `sample_type`.
    pub fn compare(&self, sample_type: SampleType, a: &str, b: &str) -> Ordering {
        self.sort_key(sample_type, a)
            .cmp(&self.sort_key(sample_type, b))
    }

    fn sort_key<'a>(
        &self,
        sample_type: SampleType,
        device_id: &'a str,
    ) -> (Reverse<Option<i64>>, &'a str) {
        // `None < Some(_)`, so reversed, unlisted devices sort after all listed ones.
        (
            Reverse(self.effective_priority(device_id, sample_type)),
            device_id,
        )
    }
}

impl FromIterator<(String, DevicePriority)> for DeviceRanking {
    fn from_iter<I: IntoIterator<Item = (String, DevicePriority)>>(iter: I) -> Self {
        DeviceRanking {
            devices: iter.into_iter().collect(),
        }
    }
}

/// The devices present among one type's samples, numbered by rank: 0 is the best.
/// Distinct devices always get distinct ranks, so "ranks higher" is a strict `<`.
#[derive(Debug)]
pub(crate) struct TypeRanks<'a> {
    ids: Vec<&'a str>,
    by_id: HashMap<&'a str, u32>,
}

impl<'a> TypeRanks<'a> {
    pub(crate) fn new(
        ranking: &DeviceRanking,
        sample_type: SampleType,
        device_ids: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let mut ids: Vec<&'a str> = device_ids.into_iter().collect();
        ids.sort_unstable_by_key(|id| ranking.sort_key(sample_type, id));
        ids.dedup();
        let by_id = ids
            .iter()
            .enumerate()
            .map(|(rank, id)| (*id, rank as u32))
            .collect();
        TypeRanks { ids, by_id }
    }

    /// Rank of a device given to [`TypeRanks::new`]; panics otherwise (a bug, not bad data).
    pub(crate) fn rank(&self, device_id: &str) -> u32 {
        self.by_id[device_id]
    }

    pub(crate) fn device(&self, rank: u32) -> &'a str {
        self.ids[rank as usize]
    }

    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_priority_ranks_first_and_ties_go_to_the_smaller_id() {
        let mut r = DeviceRanking::new();
        r.set_priority("watch", 100)
            .set_priority("dev-9", 50)
            .set_priority("dev-10", 50);
        let t = SampleType::Steps;
        assert_eq!(r.compare(t, "watch", "dev-9"), Ordering::Less);
        assert_eq!(r.compare(t, "dev-10", "dev-9"), Ordering::Less);
        let ranks = TypeRanks::new(&r, t, ["dev-9", "watch", "dev-10", "watch"]);
        assert_eq!(
            (
                ranks.rank("watch"),
                ranks.rank("dev-10"),
                ranks.rank("dev-9")
            ),
            (0, 1, 2)
        );
        assert_eq!(ranks.device(1), "dev-10");
        assert_eq!(ranks.len(), 3);
    }

    #[test]
    fn per_type_override_applies_to_its_type_only() {
        let mut r = DeviceRanking::new();
        r.set_priority("watch", 100).set_priority("strap", 50);
        r.set_type_priority("strap", SampleType::HeartRate, 120);
        assert_eq!(
            r.compare(SampleType::HeartRate, "strap", "watch"),
            Ordering::Less
        );
        assert_eq!(
            r.compare(SampleType::ActiveEnergy, "watch", "strap"),
            Ordering::Less
        );
        assert_eq!(
            r.effective_priority("strap", SampleType::HeartRate),
            Some(120)
        );
        assert_eq!(r.effective_priority("strap", SampleType::Steps), Some(50));
    }

    #[test]
    fn unlisted_devices_rank_last() {
        let mut r = DeviceRanking::new();
        r.set_priority("ring", -5);
        assert_eq!(r.compare(SampleType::Steps, "ring", "aaa"), Ordering::Less);
        assert_eq!(r.compare(SampleType::Steps, "aaa", "bbb"), Ordering::Less);
        assert_eq!(r.effective_priority("aaa", SampleType::Steps), None);
    }

    #[test]
    fn serde_shape_is_a_map_of_devices() {
        let json = r#"{"strap": {"priority": 50, "type_priorities": {"HEART_RATE": 120}}, "watch": {"priority": 100}}"#;
        let r: DeviceRanking = serde_json::from_str(json).unwrap();
        assert_eq!(
            r.effective_priority("strap", SampleType::HeartRate),
            Some(120)
        );
        assert_eq!(
            r.effective_priority("watch", SampleType::HeartRate),
            Some(100)
        );
    }
}
