//! Which buckets a batch really changed, as `AggregatesUpdated` events. Recomputation
//! replaces whole ranges of buckets; most of them come back identical, and only the others
//! are worth telling subscribers (insights, notifications) about. Pure: no I/O.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use healthpipe_domain::AggregateRow;
use healthpipe_schemas::{AggregateBucket, AggregatesUpdated};
use healthpipe_storage::projections::aggregates::StoredRow;
use uuid::Uuid;

/// At most this many buckets per event: a time-zone change re-buckets a whole history, and
/// one event must stay far below the broker's 1 MB message limit (~60 bytes per bucket).
pub const MAX_BUCKETS_PER_EVENT: usize = 2_000;

type Key = (String, String, DateTime<Utc>);
type Values = (f64, f64, f64, i64);

/// Per user, the buckets whose row appeared, disappeared or changed, in a stable order.
pub fn changed_buckets(
    old: &[StoredRow],
    new: &[(Uuid, AggregateRow)],
) -> BTreeMap<Uuid, Vec<AggregateBucket>> {
    let mut before: HashMap<(Uuid, Key), Values> = old
        .iter()
        .map(|((user, t, p, start), (v, min, max, n))| {
            (
                (*user, (t.clone(), p.clone(), *start)),
                (*v, *min, *max, i64::from(*n)),
            )
        })
        .collect();
    let mut out: BTreeMap<Uuid, BTreeMap<Key, Option<Values>>> = BTreeMap::new();
    for (user, row) in new {
        let key = (
            row.sample_type.as_str().to_string(),
            row.period.as_str().to_string(),
            row.period_start,
        );
        let values = (
            row.value,
            row.min_value,
            row.max_value,
            i64::from(row.sample_count),
        );
        if before.remove(&(*user, key.clone())) != Some(values) {
            out.entry(*user).or_default().insert(key, Some(values));
        }
    }
    for ((user, key), _) in before {
        out.entry(user).or_default().insert(key, None);
    }
    out.into_iter()
        .map(|(user, buckets)| (user, buckets.into_iter().map(bucket).collect()))
        .collect()
}

fn bucket(((sample_type, period, start), values): (Key, Option<Values>)) -> AggregateBucket {
    AggregateBucket {
        sample_type,
        period,
        period_start: start.timestamp_micros(),
        value: values.map(|v| v.0),
        sample_count: values.map_or(0, |v| v.3),
        min_value: values.map(|v| v.1),
        max_value: values.map(|v| v.2),
    }
}

/// Where a user's changes came from in the source log: the last message of theirs in the
/// batch names the events, and its time is their event time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    pub partition: i32,
    pub offset: i64,
    pub timestamp_micros: Option<i64>,
}

/// One or more events per user (chunks of `MAX_BUCKETS_PER_EVENT`), with ids derived from the
/// source position so a replay with the same batches produces the same ids.
pub fn events(
    topic: &str,
    changed: BTreeMap<Uuid, Vec<AggregateBucket>>,
    sources: &HashMap<Uuid, Source>,
    zones: &HashMap<Uuid, String>,
) -> Vec<(Uuid, AggregatesUpdated)> {
    let mut out = Vec::new();
    for (user, buckets) in changed {
        let source = sources.get(&user).copied();
        for (chunk, part) in buckets.chunks(MAX_BUCKETS_PER_EVENT).enumerate() {
            let name = match source {
                Some(s) => format!("{topic}/{}/{}/{user}/{chunk}", s.partition, s.offset),
                None => format!("{topic}/-/-/{user}/{chunk}"),
            };
            out.push((
                user,
                AggregatesUpdated {
                    event_id: Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes()).to_string(),
                    user_id: user.to_string(),
                    buckets: part.to_vec(),
                    timezone: zones.get(&user).cloned(),
                    observed_at: source.and_then(|s| s.timestamp_micros),
                },
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use healthpipe_domain::{Period, SampleType};

    fn row(period: Period, hour: u32, value: f64) -> AggregateRow {
        AggregateRow {
            sample_type: SampleType::Steps,
            period,
            period_start: Utc.with_ymd_and_hms(2026, 11, 2, hour, 0, 0).unwrap(),
            value,
            min_value: value,
            max_value: value,
            sample_count: 1,
            coverage: Some(0.5),
            device_count: 1,
        }
    }

    fn stored(user: Uuid, r: &AggregateRow) -> StoredRow {
        (
            (
                user,
                r.sample_type.as_str().into(),
                r.period.as_str().into(),
                r.period_start,
            ),
            (r.value, r.min_value, r.max_value, r.sample_count as i32),
        )
    }

    #[test]
    fn only_changed_appeared_and_vanished_buckets_are_reported() {
        let user = Uuid::new_v4();
        let same = row(Period::Hour, 9, 100.0);
        let changed_old = row(Period::Hour, 10, 100.0);
        let changed_new = row(Period::Hour, 10, 150.0);
        let gone = row(Period::Hour, 11, 7.0);
        let appeared = row(Period::Hour, 12, 3.0);
        let old = vec![
            stored(user, &same),
            stored(user, &changed_old),
            stored(user, &gone),
        ];
        let new = vec![(user, same), (user, changed_new), (user, appeared)];
        let changes = changed_buckets(&old, &new);
        let buckets = &changes[&user];
        let summary: Vec<(i64, Option<f64>)> = buckets
            .iter()
            .map(|b| ((b.period_start / 3_600_000_000) % 24, b.value))
            .collect();
        assert_eq!(
            summary,
            vec![(10, Some(150.0)), (11, None), (12, Some(3.0))]
        );
    }

    #[test]
    fn large_changes_are_split_and_ids_are_stable() {
        let user = Uuid::new_v4();
        let buckets: Vec<AggregateBucket> = (0..(MAX_BUCKETS_PER_EVENT * 2 + 1))
            .map(|i| {
                bucket((
                    (
                        "STEPS".into(),
                        "hour".into(),
                        Utc.timestamp_opt(i as i64 * 3600, 0).unwrap(),
                    ),
                    None,
                ))
            })
            .collect();
        let sources = HashMap::from([(
            user,
            Source {
                partition: 3,
                offset: 42,
                timestamp_micros: Some(7),
            },
        )]);
        let make = || {
            events(
                "t",
                BTreeMap::from([(user, buckets.clone())]),
                &sources,
                &HashMap::new(),
            )
        };
        let first = make();
        assert_eq!(first.len(), 3);
        assert_eq!(first[2].1.buckets.len(), 1);
        assert!(first.iter().all(|(_, e)| e.observed_at == Some(7)));
        let ids: Vec<_> = first.iter().map(|(_, e)| e.event_id.clone()).collect();
        assert_eq!(
            ids,
            make()
                .iter()
                .map(|(_, e)| e.event_id.clone())
                .collect::<Vec<_>>()
        );
        assert_eq!(
            ids.iter().collect::<std::collections::HashSet<_>>().len(),
            3
        );
    }
}
