//! The aggregation projection: raw samples, and deduplicated hour/day/week/month aggregates
//! in the user's time zone. One batch of messages is applied in one transaction together
//! with the consumer offsets (see `crate::offsets`).

mod changes;
mod plan;
mod recompute;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use chrono_tz::Tz;
use deadpool_postgres::Transaction;
use healthpipe_crypto::Keyring;
use healthpipe_domain::{AggregateRow, Horizons};
use healthpipe_schemas::typed::UserEvent;
use healthpipe_schemas::{EventCodec, Opened};
use healthpipe_storage::details::{self, SampleDetails};
use healthpipe_storage::projections::aggregates::{self, Replace, StoredRow};
use healthpipe_storage::projections::day_partials::{self, DayRange};
use healthpipe_storage::projections::erasure;
use healthpipe_storage::projections::profiles;
use healthpipe_storage::projections::samples::{self, SampleReach};
use healthpipe_storage::projections::shares;
use healthpipe_storage::StoreError;
use uuid::Uuid;

use crate::error::ProcessorError;
use crate::metrics;
use crate::projection::{DecodeError, Projection, Sourced};
use crate::publish::EventProducer;
use changes::Source;
use plan::Plan;

pub struct Aggregation {
    pub codec: EventCodec,
    pub producer: EventProducer,
    /// Where changed buckets are announced (`AggregatesUpdated`); `None` while rebuilding a
    /// database whose announcements are already on the topic.
    pub changes_topic: Option<String>,
    /// The UTC day whose retention horizons apply; `None`: the current day.
    pub retention_day: Option<NaiveDate>,
}

#[async_trait]
impl Projection for Aggregation {
    type Event = UserEvent;

    async fn decode(
        &self,
        _topic: &str,
        payload: &[u8],
        keys: &Keyring,
    ) -> Result<Option<UserEvent>, DecodeError> {
        match self.codec.decode_user_event(payload, keys).await? {
            Opened::Event(event) => Ok(Some(event.to_typed()?)),
            Opened::Erased => Err(DecodeError::Erased),
        }
    }

    async fn project(
        &self,
        tx: &Transaction<'_>,
        events: &[Sourced<UserEvent>],
        keys: &Keyring,
    ) -> Result<(), ProcessorError> {
        // An erased user's rows go after the rest is written, in the same transaction; the
        // user's other events of the batch are not applied at all.
        let erased: HashSet<Uuid> = events
            .iter()
            .filter_map(|e| match &e.event {
                UserEvent::UserErased(u) => Some(u.user_id.into()),
                _ => None,
            })
            .collect();
        let events: Vec<&Sourced<UserEvent>> = events
            .iter()
            .filter(|e| !erased.contains(&e.event.user_id().into()))
            .collect();
        self.apply(tx, &events, keys).await?;
        let erased: Vec<Uuid> = erased.into_iter().collect();
        erasure::erase_aggregation(tx, &erased).await?;
        Ok(())
    }
}

impl Aggregation {
    /// Writes the events' samples, recomputes the buckets they touch and announces the
    /// changed ones.
    async fn apply(
        &self,
        tx: &Transaction<'_>,
        events: &[&Sourced<UserEvent>],
        keys: &Keyring,
    ) -> Result<(), ProcessorError> {
        let mut sources: HashMap<Uuid, Source> = HashMap::new();
        for e in events {
            let source = Source {
                partition: e.partition,
                offset: e.offset,
                timestamp_micros: e.timestamp_micros,
            };
            sources
                .entry(e.event.user_id().into())
                .and_modify(|s| {
                    if (e.partition, e.offset) > (s.partition, s.offset) {
                        *s = source;
                    }
                })
                .or_insert(source);
        }
        let events: Vec<&UserEvent> = events.iter().map(|e| &e.event).collect();
        let Some((old, new, zones)) = self.recompute(tx, &events, keys).await? else {
            return Ok(());
        };
        let Some(changes_topic) = &self.changes_topic else {
            return Ok(());
        };
        let changed = changes::changed_buckets(&old, &new);
        let zone_names = zones
            .iter()
            .map(|(user, tz)| (*user, tz.name().to_string()))
            .collect();
        let announcements: Vec<_> = changes::events(changes_topic, changed, &sources, &zone_names)
            .into_iter()
            .map(|(user, event)| {
                let ms = event.observed_at.map(|us| us / 1000);
                (user.to_string(), event, ms)
            })
            .collect();
        if !announcements.is_empty() {
            self.producer
                .send_all(changes_topic, &announcements, keys)
                .await?;
            metrics::CHANGES_PUBLISHED.inc_by(announcements.len() as u64);
        }
        Ok(())
    }
}

type Recomputed = (Vec<StoredRow>, Vec<(Uuid, AggregateRow)>, HashMap<Uuid, Tz>);

impl Aggregation {
    /// Writes the batch's samples and recomputes every bucket it touched; returns the
    /// replaced rows, the new rows and the zones of the users involved (`None` if no bucket
    /// was touched).
    async fn recompute(
        &self,
        tx: &Transaction<'_>,
        events: &[&UserEvent],
        keys: &Keyring,
    ) -> Result<Option<Recomputed>, ProcessorError> {
        let mentioned = plan::mentioned(events.iter().copied());
        let known = samples::load_known(tx, &mentioned.ids, &mentioned.syncs).await?;
        let horizons = Horizons::as_of(self.retention_day);
        let mut plan = Plan::build(events.iter().copied(), known, &horizons);
        seal_details(&mut plan.inserts, keys)?;
        write(tx, &plan).await?;

        let mut windows = plan.windows.clone();
        let targets: Vec<(Uuid, Option<Uuid>)> = plan
            .rebucket_users
            .iter()
            .map(|u| (*u, None))
            .chain(plan.reranked_devices.iter().map(|(u, d)| (*u, Some(*d))))
            .collect();
        if !targets.is_empty() {
            for span in samples::spans(tx, &targets).await? {
                plan::Window::from(span).merge_into(&mut windows, (span.user, span.sample_type));
            }
        }
        if windows.is_empty() {
            return Ok(None);
        }
        let users: Vec<Uuid> = windows
            .keys()
            .map(|(u, _)| *u)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let zones = profiles::zones(tx, &users).await?;
        let rankings = profiles::device_rankings(tx, &users).await?;
        let jobs = recompute::jobs(&windows, &plan.rebucket_users, &zones, &horizons);
        let replace: Vec<&Replace> = jobs.iter().flat_map(|j| &j.replace).collect();
        let old = aggregates::delete(tx, &replace).await?;
        let replaced_days: Vec<DayRange> =
            jobs.iter().map(recompute::Job::partials_replaced).collect();
        day_partials::delete(tx, &replaced_days).await?;
        let jobs = Arc::new(jobs);
        let (rankings, zones) = (Arc::new(rankings), Arc::new(zones));
        let mut rows = Vec::new();
        for group in recompute::groups(recompute::chunks(&jobs, &zones)) {
            let ranges: Vec<SampleReach> = group.iter().map(recompute::Chunk::samples).collect();
            let samples = samples::load_ranges(tx, &ranges).await?;
            metrics::RECOMPUTE_ROWS_LOADED
                .inc_by(samples.values().map(Vec::len).sum::<usize>() as u64);
            let (jobs, rankings, zones) = (jobs.clone(), rankings.clone(), zones.clone());
            let computed = tokio::task::spawn_blocking(move || {
                recompute::compute(&jobs, &group, &samples, &rankings, &zones)
            })
            .await
            .expect("aggregation does not panic");
            aggregates::copy(tx, &computed.rows).await?;
            day_partials::copy(tx, &computed.partials).await?;
            metrics::RECOMPUTE_ROWS_WRITTEN.inc_by(computed.rows.len() as u64);
            rows.extend(computed.rows);
        }
        // Weeks and months from the day partials, the ones just written included.
        let combined: Vec<DayRange> = jobs.iter().map(recompute::Job::partials_combined).collect();
        let partials = day_partials::load(tx, &combined).await?;
        metrics::RECOMPUTE_ROWS_LOADED
            .inc_by(partials.values().map(Vec::len).sum::<usize>() as u64);
        let weeks_and_months = recompute::combine_weeks_and_months(&jobs, &partials, &zones);
        aggregates::copy(tx, &weeks_and_months).await?;
        metrics::RECOMPUTE_ROWS_WRITTEN.inc_by(weeks_and_months.len() as u64);
        rows.extend(weeks_and_months);
        let zones = Arc::try_unwrap(zones).unwrap_or_else(|shared| (*shared).clone());
        Ok(Some((old, rows, zones)))
    }
}

/// Seals each new sample's source app and metadata with its owner's key, and empties the
/// clear fields: free text is stored only sealed. A sample with neither stores no details
/// at all: sealing nothing cost a key schedule, a digest and some 70 bytes a row.
fn seal_details(rows: &mut [samples::SampleRow], keys: &Keyring) -> Result<(), StoreError> {
    for row in rows {
        if row.source_app.is_none() && row.metadata.is_empty() {
            row.details = None;
            continue;
        }
        let healthpipe_crypto::Lookup::Key(key) = keys.get(&row.user_id.to_string()) else {
            return Err(StoreError::Keys(
                "no data key loaded for the owner of a sample being written".into(),
            ));
        };
        let details = SampleDetails {
            source_app: row.source_app.take(),
            metadata: std::mem::take(&mut row.metadata).into_iter().collect(),
        };
        row.details = Some(details::seal(key, row.user_id, row.sample_id, &details));
    }
    Ok(())
}

/// Writes what the plan changes, in this order: profiles and devices, deleted samples, new
/// samples, the sample index (tombstones, then new entries), sync versions, share grants.
async fn write(tx: &Transaction<'_>, plan: &Plan) -> Result<(), StoreError> {
    profiles::upsert_zones(tx, &plan.profiles).await?;
    profiles::upsert_devices(tx, &plan.devices).await?;
    samples::delete_samples(tx, &plan.deletes).await?;
    samples::copy_samples(tx, &plan.inserts).await?;
    samples::tombstone_index(tx, &plan.tombstones).await?;
    samples::copy_index(tx, &plan.index_inserts).await?;
    samples::upsert_sync_versions(tx, &plan.sync_writes).await?;
    shares::apply(tx, &plan.shares).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use healthpipe_crypto::DataKey;

    fn row(user: Uuid, source_app: Option<&str>, metadata: &[(&str, &str)]) -> samples::SampleRow {
        samples::SampleRow {
            user_id: user,
            sample_id: Uuid::new_v4(),
            device_id: Uuid::new_v4(),
            sample_type: "STEPS".into(),
            value: 12.0,
            start: Utc::now(),
            end: Utc::now(),
            utc_offset_seconds: 0,
            source_app: source_app.map(str::to_string),
            sync_identifier: None,
            sync_version: None,
            metadata: metadata
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            details: None,
        }
    }

    #[test]
    fn details_are_sealed_when_there_are_any_and_never_stored_in_clear() {
        let user = Uuid::new_v4();
        let key = DataKey::generate();
        let mut keys = Keyring::default();
        keys.insert(user.to_string(), Some(key.clone()));
        let mut rows = vec![
            row(user, Some("com.example.app"), &[]),
            row(user, None, &[("note", "after lunch")]),
            row(user, None, &[]),
        ];
        seal_details(&mut rows, &keys).unwrap();
        for sealed in &rows[..2] {
            assert_eq!(sealed.source_app, None);
            assert!(sealed.metadata.is_empty());
            let opened = details::open(
                &key,
                user,
                sealed.sample_id,
                sealed.details.as_deref().expect("sealed"),
            )
            .unwrap();
            assert_ne!(opened, SampleDetails::default());
        }
        assert_eq!(
            rows[0].details.as_deref().map(|d| d.is_empty()),
            Some(false)
        );
        assert_eq!(rows[2].details, None, "nothing to seal, nothing stored");
    }

    #[test]
    fn details_without_their_owners_key_fail_the_batch() {
        let mut rows = vec![row(Uuid::new_v4(), Some("com.example.app"), &[])];
        assert!(seal_details(&mut rows, &Keyring::default()).is_err());
    }
}
