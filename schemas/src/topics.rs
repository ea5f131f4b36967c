//! Topic names, in one place so the gateway, the processors, the tests and the
//! operators' tooling agree.

/// A `SamplesRecorded` event carries at most this many samples; a larger sync is split.
/// 500 samples encode to roughly 60 KB, far below the broker's 1 MB message limit.
pub const MAX_SAMPLES_PER_EVENT: usize = 500;

/// The topics healthpipe reads and writes, all derived from one prefix so several
/// environments (or test runs) can share a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    /// Everything that changes one user's projections, keyed by user id.
    pub user_events: String,
    /// Aggregate buckets that changed, published by the aggregation processor.
    pub aggregates_updated: String,
    /// Insights raised, updated or resolved by the insights processor.
    pub insights: String,
    /// Messages a processor could not decode, with the reason in a header.
    pub dead_letter: String,
}

impl Topics {
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            user_events: format!("{prefix}.user-events"),
            aggregates_updated: format!("{prefix}.aggregates-updated"),
            insights: format!("{prefix}.insights"),
            dead_letter: format!("{prefix}.dead-letter"),
        }
    }

    /// The topics of the event-log settings: the prefix's, with the per-user stream renamed
    /// when `user_events` is given (`USER_EVENTS_TOPIC`, after `healthpipe topic reencrypt`
    /// copied the stream to a new topic).
    pub fn named(prefix: &str, user_events: Option<&str>) -> Self {
        let mut topics = Self::with_prefix(prefix);
        if let Some(name) = user_events.filter(|n| !n.trim().is_empty()) {
            topics.user_events = name.to_string();
        }
        topics
    }

    pub fn all(&self) -> [&str; 4] {
        [
            &self.user_events,
            &self.aggregates_updated,
            &self.insights,
            &self.dead_letter,
        ]
    }
}

impl Default for Topics {
    fn default() -> Self {
        Self::with_prefix("healthpipe")
    }
}
