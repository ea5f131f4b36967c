//! What the runtime knows about its partitions beyond what Kafka tells it: which ones were
//! revoked while a batch was being collected, which ones it stopped on purpose, and how far
//! behind it is in each one it holds (the lag and assignment gauges).
//!
//! A partition is stopped when applying one of its messages violated a constraint or
//! panicked: that means a bug or events applied out of order, never bad input, so neither
//! retrying for ever nor dead-lettering acknowledged data is right. The partition is paused
//! at the offending offset, readiness fails and a gauge counts it, until an operator looks.
//! When the partition moves to another instance the stop moves with the data: the new
//! owner starts at the stored offset, meets the same message and stops there too.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use rdkafka::statistics::Statistics;

use crate::metrics;

/// A partition this instance stopped, and why (no health values: SQLSTATE and names only).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stopped {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub reason: String,
}

#[derive(Debug, Default)]
struct State {
    /// Bumped at every revocation, so a batch being collected can tell it must drop the
    /// messages of partitions that are no longer ours.
    revocations: u64,
    stopped: BTreeMap<(String, i32), Stopped>,
    /// The partitions assigned to this instance and where it stands in each.
    assigned: BTreeMap<(String, i32), Position>,
}

/// Where an instance stands in one of its partitions.
#[derive(Debug, Clone, Copy)]
struct Position {
    /// The next offset to apply (`None`: unknown until a batch is applied, when the stored
    /// offsets could not be read at assignment).
    next: Option<i64>,
    /// The log's end as the consumer last saw it (`None` before its first statistics).
    end: Option<i64>,
    /// The log's start: a partition never applied starts there.
    start: i64,
}

impl Position {
    fn lag(&self) -> Option<i64> {
        Some((self.end? - self.next?.max(self.start)).max(0))
    }
}

/// Shared between the consumer's rebalance callback, the loop and the health endpoint.
#[derive(Debug, Default)]
pub struct Partitions {
    state: Mutex<State>,
}

impl Partitions {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere cannot leave this state half-updated: every change is one insert
        // or remove, so the data behind a poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn revocations(&self) -> u64 {
        self.state().revocations
    }

    /// Partitions left this instance: forget their stops (the new owner finds its own).
    pub fn revoked(&self, partitions: &[(String, i32)]) {
        let mut state = self.state();
        state.revocations += 1;
        for key in partitions {
            state.stopped.remove(key);
            if state.assigned.remove(key).is_some() {
                // Its new owner reports it; an old value here would be counted twice.
                let _ = metrics::LAG.remove_label_values(&[&key.0, &key.1.to_string()]);
            }
        }
        metrics::PARTITIONS_STOPPED.set(state.stopped.len() as i64);
        metrics::PARTITIONS_ASSIGNED.set(state.assigned.len() as i64);
    }

    /// Partitions given to this instance, each with the next offset it will apply there
    /// (`None` if unknown).
    pub fn assigned(&self, partitions: &[((String, i32), Option<i64>)]) {
        let mut state = self.state();
        for (key, next) in partitions {
            let position = Position {
                next: *next,
                end: None,
                start: 0,
            };
            state.assigned.insert(key.clone(), position);
        }
        metrics::PARTITIONS_ASSIGNED.set(state.assigned.len() as i64);
    }

    /// A batch was committed: in `topic`, each partition's next offset to apply. Called once
    /// per batch, never per message.
    pub fn applied(&self, topic: &str, next: &HashMap<i32, i64>) {
        let mut state = self.state();
        for (partition, offset) in next {
            let key = (topic.to_string(), *partition);
            // A partition revoked while its batch was applied is no longer ours to report.
            if let Some(position) = state.assigned.get_mut(&key) {
                position.next = Some(position.next.map_or(*offset, |n| n.max(*offset)));
                publish_lag(&key, position);
            }
        }
    }

    /// The consumer's statistics (every `statistics.interval.ms`): the log's ends as the
    /// fetch responses told them, so the lag needs no request of its own.
    pub fn observe(&self, statistics: &Statistics) {
        let mut state = self.state();
        for (key, position) in state.assigned.iter_mut() {
            let Some(seen) = statistics
                .topics
                .get(&key.0)
                .and_then(|t| t.partitions.get(&key.1))
            else {
                continue;
            };
            // librdkafka reports -1001 (no offset) until its first fetch response.
            if seen.hi_offset >= 0 {
                position.end = Some(seen.hi_offset);
                position.start = seen.lo_offset.max(0);
                publish_lag(key, position);
            }
        }
    }

    pub fn stop(&self, stopped: Stopped) {
        let mut state = self.state();
        state
            .stopped
            .insert((stopped.topic.clone(), stopped.partition), stopped);
        metrics::PARTITIONS_STOPPED.set(state.stopped.len() as i64);
    }

    pub fn is_stopped(&self, topic: &str, partition: i32) -> bool {
        self.state()
            .stopped
            .contains_key(&(topic.to_string(), partition))
    }

    /// Every stopped partition, for readiness.
    pub fn stopped(&self) -> Vec<Stopped> {
        self.state().stopped.values().cloned().collect()
    }
}

fn publish_lag((topic, partition): &(String, i32), position: &Position) {
    if let Some(lag) = position.lag() {
        metrics::LAG
            .with_label_values(&[topic, &partition.to_string()])
            .set(lag);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(next: Option<i64>, end: Option<i64>, start: i64) -> Position {
        Position { next, end, start }
    }

    #[test]
    fn lag_is_the_end_less_the_next_offset_once_both_are_known() {
        assert_eq!(position(Some(40), Some(100), 0).lag(), Some(60));
        assert_eq!(position(Some(100), Some(100), 0).lag(), Some(0));
        // The end seen a second ago can be behind a batch applied since.
        assert_eq!(position(Some(120), Some(100), 0).lag(), Some(0));
        // Never applied: from the log's start.
        assert_eq!(position(Some(0), Some(100), 30).lag(), Some(70));
        assert_eq!(position(None, Some(100), 0).lag(), None);
        assert_eq!(position(Some(0), None, 0).lag(), None);
    }

    #[test]
    fn only_held_partitions_are_counted_and_applied() {
        let partitions = Partitions::default();
        let key = |p| ("t".to_string(), p);
        partitions.assigned(&[(key(0), Some(5)), (key(1), None)]);
        partitions.applied("t", &HashMap::from([(0, 9), (2, 4)]));
        partitions.revoked(&[key(1)]);
        let state = partitions.state();
        let held: Vec<_> = state.assigned.iter().map(|(k, p)| (k.1, p.next)).collect();
        assert_eq!(held, vec![(0, Some(9))]);
    }
}
