//! What the runtime knows about its partitions beyond what Kafka tells it: which ones were
//! revoked while a batch was being collected, and which ones it stopped on purpose.
//!
//! A partition is stopped when applying one of its messages violated a constraint or
//! panicked: that means a bug or events applied out of order, never bad input, so neither
//! retrying for ever nor dead-lettering acknowledged data is right. The partition is paused
//! at the offending offset, readiness fails and a gauge counts it, until an operator looks.
//! When the partition moves to another instance the stop moves with the data: the new
//! owner starts at the stored offset, meets the same message and stops there too.

use std::collections::BTreeMap;
use std::sync::Mutex;

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
        }
        metrics::PARTITIONS_STOPPED.set(state.stopped.len() as i64);
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
