//! A consumer's membership in its group, as librdkafka's statistics report it.
//!
//! After a broker pause a consumer can leave its group and never come back (its join state
//! stuck in `wait-unassign-to-complete`, the group EMPTY) while the process runs on, idle.
//! The consumer's context feeds every statistics report to [`GroupHealth::observe`]; the
//! processor replaces its consumer once it has not been steady in its group for the stall
//! window. A member steady with nothing assigned (more members than partitions) is healthy.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::statistics::Statistics;

use crate::stall::Stall;

/// Whether a consumer group handler in `state` and `join_state` is a working member.
pub fn is_steady(state: &str, join_state: &str) -> bool {
    state == "up" && join_state == "steady"
}

/// What the statistics said of the group membership. A process is out of its group from
/// its start until its consumer first reports being steady, so one that never gets in (or
/// never reports) stalls too; replacing the consumer does not end the stall, only a steady
/// report does.
#[derive(Debug)]
pub struct GroupHealth {
    inner: Mutex<Inner>,
}

impl Default for GroupHealth {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Inner::new(Instant::now())),
        }
    }
}

#[derive(Debug)]
struct Inner {
    stall: Stall,
    /// When the current consumer was created: it gets a whole window to get in.
    created: Instant,
    /// The last reported (state, join state), for logs and readiness.
    last: Option<(String, String)>,
    /// Whether the current consumer was ever steady.
    steady_once: bool,
}

impl Inner {
    fn new(created: Instant) -> Self {
        let mut stall = Stall::default();
        stall.failed(created);
        Self {
            stall,
            created,
            last: None,
            steady_once: false,
        }
    }
}

impl GroupHealth {
    /// Records one statistics report (consumers without a group report none).
    pub fn observe(&self, statistics: &Statistics) {
        if let Some(cgrp) = &statistics.cgrp {
            self.record(Instant::now(), &cgrp.state, &cgrp.join_state);
        }
    }

    fn record(&self, now: Instant, state: &str, join_state: &str) {
        let mut inner = self.lock();
        let steady = is_steady(state, join_state);
        inner.stall.observe(now, steady);
        inner.steady_once |= steady;
        inner.last = Some((state.to_string(), join_state.to_string()));
    }

    /// How long the process has not been steady in its group, if it is not.
    pub fn stalled_for(&self) -> Option<Duration> {
        self.lock().stall.stalled_for(Instant::now())
    }

    /// Whether it has not been steady for `window` (readiness fails then).
    pub fn exceeds(&self, window: Duration) -> bool {
        self.lock().stall.exceeds(Instant::now(), window)
    }

    /// Whether the current consumer should be replaced: out of the group for `window`, and
    /// given a whole `window` itself to get in.
    pub fn should_replace(&self, window: Duration) -> bool {
        let inner = self.lock();
        let now = Instant::now();
        inner.stall.exceeds(now, window) && now.saturating_duration_since(inner.created) >= window
    }

    /// Whether the current consumer was ever steady.
    pub fn was_steady(&self) -> bool {
        self.lock().steady_once
    }

    /// The last reported (state, join state).
    pub fn last_state(&self) -> Option<(String, String)> {
        self.lock().last.clone()
    }

    /// A new consumer starts now; the process stays out of its group until it gets in.
    pub fn replaced(&self) {
        let mut inner = self.lock();
        inner.created = Instant::now();
        inner.steady_once = false;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_steady_member_of_an_up_group_is_steady() {
        assert!(is_steady("up", "steady"));
        assert!(!is_steady("up", "wait-unassign-to-complete"));
        assert!(!is_steady("up", "wait-join"));
        assert!(!is_steady("wait-coord", "steady"));
    }

    #[test]
    fn a_new_consumer_is_out_of_its_group_until_it_reports_steady() {
        let health = GroupHealth::default();
        assert!(health.stalled_for().is_some());
        health.record(Instant::now(), "wait-coord", "init");
        assert!(health.stalled_for().is_some());
        health.record(Instant::now(), "up", "steady");
        assert_eq!(health.stalled_for(), None);
    }

    #[test]
    fn the_stall_runs_from_the_first_report_out_of_the_group() {
        let health = GroupHealth::default();
        let t0 = Instant::now() - Duration::from_secs(60);
        health.record(t0, "up", "steady");
        assert!(health.was_steady());
        assert_eq!(health.stalled_for(), None);
        health.record(t0, "up", "wait-unassign-to-complete");
        health.record(
            t0 + Duration::from_secs(30),
            "up",
            "wait-unassign-to-complete",
        );
        assert!(health.exceeds(Duration::from_secs(59)));
        assert!(!health.should_replace(Duration::from_secs(59)));
        assert_eq!(
            health.last_state(),
            Some(("up".into(), "wait-unassign-to-complete".into()))
        );
        // A new consumer has a window of its own, but the stall goes on until it gets in.
        health.replaced();
        assert!(!health.was_steady());
        assert!(health.exceeds(Duration::from_secs(59)));
        assert!(!health.should_replace(Duration::from_secs(1)));
    }
}
