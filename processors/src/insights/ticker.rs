//! Day ticks: calendar rules (this week's activity, the last 30 days' trend, last nights'
//! sleep) change when a user's local day turns even if no new data arrives. The ticker looks
//! for users whose latest evaluation was on an earlier local day and appends an
//! `AggregatesUpdated` event with no buckets, timed at their local midnight, to the topic the
//! insights processor consumes. Being in the log, a tick replays like any other event.
//!
//! Several instances may run: a transaction-scoped advisory lock lets one tick at a time, and
//! `insight_users.tick_sent` keeps a user from being ticked twice for the same day.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use deadpool_postgres::Pool;
use healthpipe_crypto::KeyProvider;
use healthpipe_schemas::AggregatesUpdated;
use healthpipe_storage::accounts::keys;
use healthpipe_storage::projections::ticks;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::ProcessorConfig;
use crate::error::ProcessorError;
use crate::metrics;
use crate::publish::EventProducer;

/// Users ticked per transaction: bounds memory and the length of one transaction.
const CHUNK: i64 = 5_000;

pub struct Ticker {
    pool: Pool,
    key_store: Pool,
    producer: EventProducer,
    topic: String,
    keys: std::sync::Arc<dyn KeyProvider>,
}

impl Ticker {
    pub fn new(config: &ProcessorConfig) -> Result<Self, ProcessorError> {
        let pool = crate::runtime::pool(config)?;
        Ok(Self {
            key_store: crate::runtime::key_store(config, &pool)?,
            pool,
            producer: EventProducer::new(config)?,
            topic: config.topics.aggregates_updated.clone(),
            keys: config.key_provider()?,
        })
    }

    /// Ticks every `interval` until `shutdown` is cancelled.
    pub async fn run(self, interval: Duration, shutdown: CancellationToken) {
        loop {
            match self.tick_due(Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(users = n, "day ticks published"),
                Err(e) => tracing::warn!(error = %e, "day ticks failed, retrying later"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(interval) => {}
            }
        }
    }

    /// Publishes a tick for every user whose local day turned since their last evaluation
    /// and who has not been ticked for that day yet; returns how many.
    pub async fn tick_due(&self, now: DateTime<Utc>) -> Result<usize, ProcessorError> {
        let mut total = 0;
        loop {
            let mut client = self.pool.get().await?;
            let tx = client.transaction().await?;
            if !ticks::try_lock(&tx).await? {
                return Ok(total);
            }
            let due = ticks::due(&tx, now, CHUNK).await?;
            if due.is_empty() {
                return Ok(total);
            }
            let mut events = Vec::with_capacity(due.len());
            let mut sent = Vec::with_capacity(due.len());
            for d in &due {
                let tz: Tz = d.timezone.parse().unwrap_or(Tz::UTC);
                let midnight = healthpipe_domain::day_start(d.day, tz);
                let event = tick(d.user, &d.timezone, d.day, midnight);
                events.push((d.user.to_string(), event, Some(midnight.timestamp_millis())));
                sent.push((d.user, d.day));
            }
            // Ticks are sealed like every event about a user; an erased user gets none.
            let users: Vec<Uuid> = due.iter().map(|d| d.user).collect();
            let ring = {
                let store = self.key_store.get().await?;
                keys::keyring(&store, self.keys.as_ref(), &users).await?
            };
            self.producer.send_all(&self.topic, &events, &ring).await?;
            ticks::mark_sent(&tx, &sent).await?;
            tx.commit().await?;
            metrics::TICKS_PUBLISHED.inc_by(events.len() as u64);
            total += events.len();
        }
    }
}

/// A day tick: no buckets, the local midnight as its event time, an id derived from the user
/// and the day.
pub fn tick(user: Uuid, zone: &str, day: NaiveDate, midnight: DateTime<Utc>) -> AggregatesUpdated {
    let name = format!("tick/{user}/{day}");
    AggregatesUpdated {
        event_id: Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes()).to_string(),
        user_id: user.to_string(),
        buckets: Vec::new(),
        timezone: Some(zone.to_string()),
        observed_at: Some(midnight.timestamp_micros()),
    }
}
