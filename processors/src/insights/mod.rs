//! The insights projection: rules over a user's aggregates (see
//! `healthpipe_domain::insights`), fed by the `AggregatesUpdated` events the aggregation
//! processor publishes and by day ticks (`ticker`), and the user's acknowledgements, read
//! from their own stream (the other records there are skipped by their schema id, unread). It keeps its own copy of the rows the rules
//! read (`insight_inputs`), so its results are a function of the events it consumed, in order:
//! replaying the topic into an empty database gives the same insights. Every new, updated or
//! resolved insight is also published as an `InsightRaised` event.

mod state;
mod store;
pub mod ticker;

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use deadpool_postgres::Transaction;
use healthpipe_crypto::Keyring;
use healthpipe_domain::Horizons;
use healthpipe_schemas::{
    typed, AggregatesUpdated, Event, EventCodec, InsightAcknowledged, InsightRaised, Opened,
    Topics, UserErased,
};
use healthpipe_storage::projections::erasure;
use healthpipe_storage::projections::insights::{self as insight_store, InsightRow, Wanted};
use uuid::Uuid;

use crate::config::ProcessorConfig;
use crate::error::ProcessorError;
use crate::metrics;
use crate::projection::{DecodeError, Projection, Sourced};
use crate::publish::EventProducer;
use state::LOOKBACK_DAYS;

pub struct Insights {
    codec: EventCodec,
    producer: EventProducer,
    changes_topic: String,
    insights_topic: String,
    /// The UTC day whose retention horizons apply; `None`: the current day.
    retention_day: Option<chrono::NaiveDate>,
}

/// What the insights processor reads.
pub enum Input {
    /// Buckets the aggregation processor changed, or a day tick.
    Changes(AggregatesUpdated),
    /// The user read an insight (from the user's own stream).
    Acknowledged {
        user: Uuid,
        insight: Uuid,
        at: DateTime<Utc>,
    },
    /// The user was erased (from the user's own stream): their rows go.
    Erased { user: Uuid },
}

/// An aggregate change with its message's create time.
struct Change<'a> {
    event: &'a AggregatesUpdated,
    timestamp_micros: Option<i64>,
}

impl Insights {
    pub fn new(config: &ProcessorConfig, topics: &Topics) -> Result<Self, ProcessorError> {
        Ok(Self {
            codec: EventCodec::new(&config.registry_url),
            producer: EventProducer::new(config)?,
            changes_topic: topics.aggregates_updated.clone(),
            insights_topic: topics.insights.clone(),
            retention_day: config.retention_day,
        })
    }
}

/// The event time of an aggregate change: the time it carries, else its message's.
fn event_time(e: &Change<'_>) -> Option<DateTime<Utc>> {
    e.event
        .observed_at
        .or(e.timestamp_micros)
        .and_then(DateTime::from_timestamp_micros)
}

/// The acknowledgements of a batch, the first of each (user, insight) in log order, leaving
/// out those older than retention keeps.
fn acknowledgements(
    events: &[&Sourced<Input>],
    horizons: &Horizons,
) -> HashMap<(Uuid, Uuid), DateTime<Utc>> {
    let mut out = HashMap::new();
    for e in events {
        if let Input::Acknowledged { user, insight, at } = e.event {
            if at >= horizons.insights {
                out.entry((user, insight)).or_insert(at);
            }
        }
    }
    out
}

#[async_trait]
impl Projection for Insights {
    type Event = Input;

    async fn decode(
        &self,
        topic: &str,
        payload: &[u8],
        keys: &Keyring,
    ) -> Result<Option<Input>, DecodeError> {
        if topic == self.changes_topic {
            let Opened::Event(event) = self
                .codec
                .decode::<AggregatesUpdated>(payload, keys)
                .await?
            else {
                return Err(DecodeError::Erased);
            };
            // Checked through the one conversion; the rules read the wire shape.
            typed::AggregatesUpdated::try_from(&event)?;
            return Ok(Some(Input::Changes(event)));
        }
        let name = self.codec.record_name(payload).await?;
        if name == UserErased::FULL_NAME {
            let Opened::Event(healthpipe_schemas::UserEvent::UserErased(erased)) =
                self.codec.decode_user_event(payload, keys).await?
            else {
                return Ok(None);
            };
            let erased = typed::UserErased::try_from(&erased)?;
            return Ok(Some(Input::Erased {
                user: erased.user_id.into(),
            }));
        }
        if name != InsightAcknowledged::FULL_NAME {
            return Ok(None);
        }
        let Opened::Event(event) = self
            .codec
            .decode::<InsightAcknowledged>(payload, keys)
            .await?
        else {
            return Err(DecodeError::Erased);
        };
        let event = typed::InsightAcknowledged::try_from(&event)?;
        Ok(Some(Input::Acknowledged {
            user: event.user_id.into(),
            insight: event.insight_id,
            at: event.acknowledged_at,
        }))
    }

    async fn project(
        &self,
        tx: &Transaction<'_>,
        events: &[Sourced<Input>],
        keys: &Keyring,
    ) -> Result<(), ProcessorError> {
        // An erased user's rows go after the rest is written, in the same transaction; the
        // user's other inputs of the batch are not applied at all.
        let erased: Vec<Uuid> = events
            .iter()
            .filter_map(|e| match e.event {
                Input::Erased { user } => Some(user),
                _ => None,
            })
            .collect();
        let kept: Vec<&Sourced<Input>> = events
            .iter()
            .filter(|e| !erased.contains(&input_user(&e.event)))
            .collect();
        self.apply(tx, &kept, keys).await?;
        erasure::erase_insights(tx, &erased).await?;
        Ok(())
    }
}

/// The user an input is about (nil for a change whose user id does not parse: those were
/// refused when decoded).
fn input_user(input: &Input) -> Uuid {
    match input {
        Input::Changes(e) => Uuid::parse_str(&e.user_id).unwrap_or_default(),
        Input::Acknowledged { user, .. } | Input::Erased { user } => *user,
    }
}

impl Insights {
    async fn apply(
        &self,
        tx: &Transaction<'_>,
        events: &[&Sourced<Input>],
        keys: &Keyring,
    ) -> Result<(), ProcessorError> {
        let horizons = Horizons::as_of(self.retention_day);
        insight_store::acknowledge(tx, &acknowledgements(events, &horizons)).await?;
        let events: Vec<Change<'_>> = events
            .iter()
            .filter_map(|e| match &e.event {
                Input::Changes(event) => Some(Change {
                    event,
                    timestamp_micros: e.timestamp_micros,
                }),
                Input::Acknowledged { .. } | Input::Erased { .. } => None,
            })
            .collect();
        if events.is_empty() {
            return Ok(());
        }
        let mut states = store::load(tx, &wanted(&events)).await?;
        let mut versions: Vec<InsightRow> = Vec::new();
        for e in &events {
            // Checked when decoded.
            let Ok(user) = Uuid::parse_str(&e.event.user_id) else {
                continue;
            };
            if let Some(state) = states.get_mut(&user) {
                versions.extend(state.apply(e.event, event_time(e)));
            }
        }
        // Versions older than retention keeps (a replay of old events) are neither written
        // nor published.
        versions.retain(|v| v.updated_at >= horizons.insights);
        store::save(tx, &states, &versions, &horizons).await?;
        if versions.is_empty() {
            return Ok(());
        }
        let published: Vec<(String, InsightRaised, Option<i64>)> = versions
            .iter()
            .map(|v| {
                let at = v.updated_at.timestamp_micros();
                let name = format!("{}/{}/{}", v.id, at, v.status);
                let event = InsightRaised {
                    event_id: Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes()).to_string(),
                    user_id: v.user.to_string(),
                    insight_id: v.id.to_string(),
                    insight_type: v.insight_type.clone(),
                    severity: v.severity.clone(),
                    status: v.status.to_string(),
                    message: v.message.clone(),
                    data_json: v.data.to_string(),
                    raised_at: at,
                    direction: v.direction.clone(),
                    recommendation: v.recommendation.clone(),
                    rule_key: v.rule_key.clone(),
                };
                (v.user.to_string(), event, Some(at / 1000))
            })
            .collect();
        self.producer
            .send_all(&self.insights_topic, &published, keys)
            .await?;
        for v in &versions {
            metrics::INSIGHTS_PUBLISHED
                .with_label_values(&[v.status])
                .inc();
        }
        Ok(())
    }
}

/// Per user in the batch: the rows the rules can read as of the batch's earliest event time,
/// and the older days the batch changes.
fn wanted(events: &[Change<'_>]) -> Vec<Wanted> {
    // user → (earliest event time, starts of the changed days)
    type Seen = (Option<DateTime<Utc>>, BTreeSet<DateTime<Utc>>);
    let mut per_user: HashMap<Uuid, Seen> = HashMap::new();
    for e in events {
        let Ok(user) = Uuid::parse_str(&e.event.user_id) else {
            continue;
        };
        let entry = per_user.entry(user).or_default();
        if let Some(t) = event_time(e) {
            entry.0 = Some(entry.0.map_or(t, |s| s.min(t)));
        }
        entry.1.extend(
            e.event
                .buckets
                .iter()
                .filter(|b| b.period == "day")
                .filter_map(|b| DateTime::from_timestamp_micros(b.period_start)),
        );
    }
    per_user
        .into_iter()
        .map(|(user, (earliest, days))| Wanted {
            user,
            since: earliest.unwrap_or_else(Utc::now) - TimeDelta::days(LOOKBACK_DAYS),
            day_starts: days.into_iter().collect(),
        })
        .collect()
}
