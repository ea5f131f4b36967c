//! Day ticks: calendar rules (this week's activity, the last 30 days' trend, last nights'
//! sleep) change when a user's local day turns even if no new data arrives. The ticker looks
//! for users whose latest evaluation was on an earlier local day and appends an
//! `AggregatesUpdated` event with no buckets, timed at their local midnight, to the topic the
//! insights processor consumes. Being in the log, a tick replays like any other event.
//!
//! Several instances may run: a transaction-scoped advisory lock lets one tick at a time, and
//! `insight_users.tick_sent` keeps a user from being ticked twice for the same day.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use deadpool_postgres::Pool;
use healthpipe_schemas::{AggregatesUpdated, Topics};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::ProcessorConfig;
use crate::error::ProcessorError;
use crate::metrics;
use crate::publish::EventProducer;

const LOCK_KEY: i64 = 0x7469_636b; // "tick"
/// Users ticked per transaction: bounds memory and the length of one transaction.
const CHUNK: i64 = 5_000;

pub struct Ticker {
    pool: Pool,
    producer: EventProducer,
    topic: String,
}

impl Ticker {
    pub fn new(config: &ProcessorConfig) -> Result<Self, ProcessorError> {
        Ok(Self {
            pool: crate::runtime::pool(config)?,
            producer: EventProducer::new(&config.kafka_brokers, &config.registry_url)?,
            topic: Topics::with_prefix(&config.topic_prefix).aggregates_updated,
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
            let locked: bool = tx
                .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&LOCK_KEY])
                .await?
                .get(0);
            if !locked {
                return Ok(total);
            }
            let rows = tx
                .query(
                    // A zone PostgreSQL's tz database did not know would fail the whole
                    // query; such users are left out (they are still evaluated on new data).
                    "SELECT user_id, timezone, (($1::timestamptz) AT TIME ZONE timezone)::date FROM insight_users \
                     WHERE timezone IN (SELECT name FROM pg_timezone_names) \
                     AND (evaluated_at AT TIME ZONE timezone)::date < ($1::timestamptz AT TIME ZONE timezone)::date \
                     AND tick_sent IS DISTINCT FROM ($1::timestamptz AT TIME ZONE timezone)::date \
                     LIMIT $2 FOR UPDATE SKIP LOCKED",
                    &[&now, &CHUNK],
                )
                .await?;
            if rows.is_empty() {
                return Ok(total);
            }
            let mut ticks = Vec::with_capacity(rows.len());
            let mut users = Vec::with_capacity(rows.len());
            let mut days = Vec::with_capacity(rows.len());
            for r in &rows {
                let user: Uuid = r.get(0);
                let zone: String = r.get(1);
                let day: NaiveDate = r.get(2);
                let tz: Tz = zone.parse().unwrap_or(Tz::UTC);
                let midnight = local_midnight(day, tz);
                let event = tick(user, &zone, day, midnight);
                ticks.push((user.to_string(), event, Some(midnight.timestamp_millis())));
                users.push(user);
                days.push(day);
            }
            self.producer.send_all(&self.topic, &ticks).await?;
            tx.execute(
                "UPDATE insight_users u SET tick_sent = d.day FROM unnest($1::uuid[], $2::date[]) AS d(u, day) \
                 WHERE u.user_id = d.u",
                &[&users, &days],
            )
            .await?;
            tx.commit().await?;
            metrics::TICKS_PUBLISHED.inc_by(ticks.len() as u64);
            total += ticks.len();
        }
    }
}

/// The first instant of `day` in `tz` (a DST gap at midnight moves it to the first valid
/// instant).
fn local_midnight(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let mut t = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    for _ in 0..4 {
        if let Some(first) = tz.from_local_datetime(&t).earliest() {
            return first.with_timezone(&Utc);
        }
        t += chrono::TimeDelta::minutes(30);
    }
    Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight exists"))
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
