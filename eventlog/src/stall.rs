//! How long something has gone without progress: the one rule both the producer and the
//! consumer watch apply.

use std::time::{Duration, Instant};

/// Time since the first failure that no progress has followed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stall {
    since: Option<Instant>,
}

impl Stall {
    /// Progress: whatever failed before no longer counts.
    pub fn progressed(&mut self) {
        self.since = None;
    }

    /// A failure at `now`; the stall runs from the first one after the last progress.
    pub fn failed(&mut self, now: Instant) {
        self.since.get_or_insert(now);
    }

    /// Records one observation: progress or failure.
    pub fn observe(&mut self, now: Instant, progressing: bool) {
        if progressing {
            self.progressed();
        } else {
            self.failed(now);
        }
    }

    /// How long it has been failing without progress, if it is.
    pub fn stalled_for(&self, now: Instant) -> Option<Duration> {
        self.since.map(|since| now.saturating_duration_since(since))
    }

    /// Whether it has been failing without progress for at least `window`.
    pub fn exceeds(&self, now: Instant, window: Duration) -> bool {
        self.stalled_for(now).is_some_and(|d| d >= window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stall_runs_from_the_first_failure_until_progress() {
        let t0 = Instant::now();
        let window = Duration::from_secs(30);
        let mut stall = Stall::default();
        assert_eq!(stall.stalled_for(t0), None);
        stall.failed(t0);
        stall.failed(t0 + Duration::from_secs(20));
        assert_eq!(
            stall.stalled_for(t0 + Duration::from_secs(25)),
            Some(Duration::from_secs(25))
        );
        assert!(!stall.exceeds(t0 + Duration::from_secs(29), window));
        assert!(stall.exceeds(t0 + Duration::from_secs(30), window));
        stall.observe(t0 + Duration::from_secs(31), true);
        assert!(!stall.exceeds(t0 + Duration::from_secs(90), window));
        stall.observe(t0 + Duration::from_secs(40), false);
        assert_eq!(
            stall.stalled_for(t0 + Duration::from_secs(41)),
            Some(Duration::from_secs(1))
        );
    }
}
