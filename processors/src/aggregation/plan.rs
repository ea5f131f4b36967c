//! Turns a batch of decoded events into the changes to write, without I/O: which samples are
//! new, which stored samples go away, which device rankings and time zones change, and which
//! (user, type) time ranges need their aggregates recomputed. Events are applied in log
//! order, so the result is the same whatever the batch boundaries.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use healthpipe_domain::{sync_replacement, Horizons, Priority, SampleType, SyncReplacement};
use healthpipe_schemas::typed::{RecordedSample, UserEvent};
use healthpipe_storage::projections::profiles::DeviceRow;
use healthpipe_storage::projections::samples::{
    IndexEntry, KnownState, SampleKey, SampleRange, SampleRow, SyncKey,
};
use healthpipe_storage::projections::shares::{GrantRow, ShareChange};
use uuid::Uuid;

/// The range of one user's samples of one type whose buckets must be recomputed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Window {
    /// Widens the window of `key` in `windows` to include `self`.
    pub fn merge_into<K: std::hash::Hash + Eq>(self, windows: &mut HashMap<K, Window>, key: K) {
        windows
            .entry(key)
            .and_modify(|w| {
                w.from = w.from.min(self.from);
                w.to = w.to.max(self.to);
            })
            .or_insert(self);
    }
}

impl From<SampleRange> for Window {
    fn from(range: SampleRange) -> Self {
        Window {
            from: range.from,
            to: range.to,
        }
    }
}

#[derive(Debug, Default)]
pub struct Plan {
    pub profiles: HashMap<Uuid, String>,
    /// Users whose whole history is re-bucketed (time-zone change).
    pub rebucket_users: HashSet<Uuid>,
    pub devices: HashMap<(Uuid, Uuid), DeviceRow>,
    /// Devices whose ranking changed: every bucket holding their samples is recomputed.
    pub reranked_devices: HashSet<(Uuid, Uuid)>,
    /// New samples, in log order (deleted ones already removed).
    pub inserts: Vec<SampleRow>,
    /// Stored samples to delete: (user, sample id, start).
    pub deletes: Vec<(Uuid, Uuid, DateTime<Utc>)>,
    /// Index entries this batch created (some already tombstones).
    pub index_inserts: Vec<(Uuid, Uuid, IndexEntry)>,
    /// Stored index entries that became tombstones.
    pub tombstones: Vec<SampleKey>,
    /// Sample ids this batch saw first: their index entries are not stored yet.
    created: HashSet<SampleKey>,
    /// New current versions of sync identifiers.
    pub sync_writes: HashMap<(Uuid, String), (i64, Uuid)>,
    pub windows: HashMap<(Uuid, SampleType), Window>,
    /// Share grants, redemptions and revocations, in log order.
    pub shares: Vec<ShareChange>,
}

/// Sample ids and sync identifiers a batch mentions.
#[derive(Debug, Default)]
pub struct Mentioned {
    pub ids: Vec<SampleKey>,
    pub syncs: Vec<SyncKey>,
}

/// What the batch mentions, to load `KnownState` in one query each.
pub fn mentioned<'a>(events: impl IntoIterator<Item = &'a UserEvent>) -> Mentioned {
    let mut ids = Vec::new();
    let mut syncs = Vec::new();
    for event in events {
        match event {
            UserEvent::SamplesRecorded(e) => {
                let user = Uuid::from(e.user_id);
                for s in &e.samples {
                    ids.push((user, Uuid::from(s.sample_id)));
                    if let Some(sync) = &s.sync_identifier {
                        syncs.push((user, sync.clone()));
                    }
                }
            }
            UserEvent::SamplesDeleted(e) => {
                let user = Uuid::from(e.user_id);
                ids.extend(e.sample_ids.iter().map(|id| (user, Uuid::from(*id))));
            }
            _ => {}
        }
    }
    Mentioned { ids, syncs }
}

/// A ranking as the projection stores it: per-type overrides keyed by type name.
fn device_row(
    device_type: String,
    priority: Priority,
    overrides: &HashMap<SampleType, Priority>,
) -> DeviceRow {
    DeviceRow {
        device_type,
        priority: priority.get(),
        type_priorities: overrides
            .iter()
            .map(|(t, p)| (t.as_str().to_string(), p.get()))
            .collect(),
    }
}

impl Plan {
    /// Applies `events` in order on top of `known`, leaving out what lies beyond the
    /// retention `horizons` (samples too old to keep, share grants ended too long ago).
    pub fn build<'a>(
        events: impl IntoIterator<Item = &'a UserEvent>,
        mut known: KnownState,
        horizons: &Horizons,
    ) -> Plan {
        let mut plan = Plan::default();
        for event in events {
            plan.apply(event, &mut known, horizons);
        }
        plan.finish(known);
        plan
    }

    fn apply(&mut self, event: &UserEvent, known: &mut KnownState, horizons: &Horizons) {
        let user = Uuid::from(event.user_id());
        match event {
            UserEvent::UserRegistered(e) => {
                self.profiles.insert(user, e.timezone.name().to_string());
            }
            UserEvent::UserTimeZoneChanged(e) => {
                self.profiles.insert(user, e.timezone.name().to_string());
                self.rebucket_users.insert(user);
            }
            UserEvent::DeviceRegistered(e) => {
                let row = device_row(
                    e.device_type.as_str().to_string(),
                    e.priority,
                    &e.type_priorities,
                );
                self.devices.insert((user, e.device_id.into()), row);
            }
            UserEvent::DevicePriorityChanged(e) => {
                let device = Uuid::from(e.device_id);
                // The kind stays as registered (an empty kind keeps the stored one).
                let kind = self
                    .devices
                    .get(&(user, device))
                    .map(|d| d.device_type.clone())
                    .unwrap_or_default();
                let row = device_row(kind, e.priority, &e.type_priorities);
                self.devices.insert((user, device), row);
                self.reranked_devices.insert((user, device));
            }
            UserEvent::SamplesRecorded(e) => {
                let device = Uuid::from(e.device_id);
                for sample in e
                    .samples
                    .iter()
                    .filter(|s| horizons.keeps_sample(s.end_time))
                {
                    self.record(user, device, sample, known);
                }
            }
            UserEvent::SamplesDeleted(e) => {
                for id in &e.sample_ids {
                    self.delete(user, (*id).into(), known);
                }
            }
            UserEvent::ShareGranted(e) if !horizons.keeps_share(e.expires_at) => {}
            UserEvent::ShareGranted(e) => self.shares.push(ShareChange::Grant(GrantRow {
                share_id: e.share_id,
                user_id: user,
                recipient_email: e.recipient_email.clone(),
                sample_types: e
                    .sample_types
                    .iter()
                    .map(|t| t.as_str().to_string())
                    .collect(),
                date_start: e.date_start,
                date_end: e.date_end,
                expires_at: e.expires_at,
                label: e.label.clone(),
                code_digest: e.code_digest.clone(),
                granted_at: e.granted_at,
            })),
            UserEvent::ShareRedeemed(e) => self.shares.push(ShareChange::Redeem {
                share_id: e.share_id,
                provider_id: e.provider_id.into(),
                at: e.redeemed_at,
            }),
            UserEvent::ShareRevoked(e) if !horizons.keeps_share(e.revoked_at) => {
                self.shares.push(ShareChange::Forget {
                    share_id: e.share_id,
                })
            }
            UserEvent::ShareRevoked(e) => self.shares.push(ShareChange::Revoke {
                share_id: e.share_id,
                at: e.revoked_at,
            }),
            // Insight state: the insights processor projects acknowledgements. Erasures are
            // applied after the plan (see `Aggregation::project`).
            UserEvent::InsightAcknowledged(_) | UserEvent::UserErased(_) => {}
        }
    }

    fn record(
        &mut self,
        user: Uuid,
        device: Uuid,
        sample: &RecordedSample,
        known: &mut KnownState,
    ) {
        let id = Uuid::from(sample.sample_id);
        // First occurrence wins (as in `healthpipe_domain::clean_up`): the index knows every
        // id this user's log has recorded.
        if known.samples.contains_key(&(user, id)) {
            return;
        }
        let (start, end) = (sample.start_time, sample.end_time);
        if let Some(sync) = &sample.sync_identifier {
            let key = (user, sync.clone());
            let current = known.sync_versions.get(&key).copied();
            let SyncReplacement::Current { version, replaces } =
                sync_replacement(current, sample.sync_version)
            else {
                return;
            };
            if let Some(replaced) = replaces {
                self.delete(user, replaced, known);
            }
            let version = (version, id);
            known.sync_versions.insert(key.clone(), version);
            self.sync_writes.insert(key, version);
        }
        let sample_type = sample.sample_type.as_str().to_string();
        known.samples.insert(
            (user, id),
            IndexEntry {
                sample_type: sample_type.clone(),
                start,
                end,
                deleted: false,
            },
        );
        self.created.insert((user, id));
        Window {
            from: start,
            to: end,
        }
        .merge_into(&mut self.windows, (user, sample.sample_type));
        self.inserts.push(SampleRow {
            user_id: user,
            sample_id: id,
            device_id: device,
            sample_type,
            value: sample.value,
            start,
            end,
            utc_offset_seconds: sample.utc_offset.local_minus_utc(),
            source_app: sample.source_app.clone(),
            sync_identifier: sample.sync_identifier.clone(),
            sync_version: sample.sync_version,
            metadata: sample.metadata.clone(),
            // Sealed by the caller, which holds the keys (the plan is pure).
            details: None,
        });
    }

    fn delete(&mut self, user: Uuid, id: Uuid, known: &mut KnownState) {
        let Some(entry) = known.samples.get_mut(&(user, id)) else {
            return;
        };
        if entry.deleted {
            return;
        }
        entry.deleted = true;
        let (sample_type, start, end) = (entry.sample_type.clone(), entry.start, entry.end);
        if self.created.contains(&(user, id)) {
            self.inserts
                .retain(|r| !(r.user_id == user && r.sample_id == id));
        } else {
            self.deletes.push((user, id, start));
        }
        self.touch(user, &sample_type, start, end);
    }

    fn touch(&mut self, user: Uuid, sample_type: &str, from: DateTime<Utc>, to: DateTime<Utc>) {
        let Ok(sample_type) = sample_type.parse::<SampleType>() else {
            return;
        };
        Window { from, to }.merge_into(&mut self.windows, (user, sample_type));
    }

    /// Index rows to write: every entry this batch created, and every stored one it deleted.
    fn finish(&mut self, known: KnownState) {
        self.tombstones = self.deletes.iter().map(|(u, id, _)| (*u, *id)).collect();
        for (key, entry) in known.samples {
            if self.created.contains(&key) {
                self.index_inserts.push((key.0, key.1, entry));
            }
        }
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
