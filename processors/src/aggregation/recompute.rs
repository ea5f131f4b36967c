//! Recomputes the aggregate rows a batch affected. For each touched (user, type) range it
//! replaces every hour, day, week and month bucket that the range overlaps, from all stored
//! samples that can reach those buckets. The result therefore depends only on the stored
//! samples, never on what earlier batches happened to contain: the projection stays a pure
//! function of the log.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use healthpipe_domain::{
    aggregate_user, bucket_start, next_bucket_start, AggregateRow, AggregationKind, DeviceRanking,
    Period, Sample, SampleType,
};
use uuid::Uuid;

use super::plan::Window;
use super::store::Replace;

const PERIODS: [Period; 4] = [Period::Hour, Period::Day, Period::Week, Period::Month];

/// How far before a bucket a sample overlapping it may start: the longest duration any type
/// accepts.
fn max_sample_duration() -> TimeDelta {
    SampleType::all()
        .map(|t| t.max_duration())
        .max()
        .unwrap_or(TimeDelta::hours(24))
}

/// One touched (user, type): which buckets to replace, and which samples to load for them.
pub struct Job {
    pub user: Uuid,
    pub sample_type: SampleType,
    pub replace: Vec<Replace>,
    pub load_from: DateTime<Utc>,
    pub load_to: DateTime<Utc>,
}

/// Plans the recomputation of `windows`; users in `rebucket` have every row replaced (their
/// zone changed, so even bucket boundaries moved).
pub fn jobs(
    windows: &HashMap<(Uuid, SampleType), Window>,
    rebucket: &HashSet<Uuid>,
    zones: &HashMap<Uuid, Tz>,
) -> Vec<Job> {
    let margin = max_sample_duration();
    windows
        .iter()
        .map(|(&(user, sample_type), window)| {
            let tz = zones.get(&user).copied().unwrap_or(Tz::UTC);
            // A discrete or latest sample belongs to the bucket of its start, and a new (or
            // deleted) better sample can drop (or revive) one that starts up to one maximum
            // duration earlier: those buckets change too.
            let from = match sample_type.kind() {
                AggregationKind::Cumulative => window.from,
                _ => window.from - margin,
            };
            let replace: Vec<Replace> = PERIODS
                .iter()
                .map(|&period| {
                    let (from, to) = if rebucket.contains(&user) {
                        (far_past(), far_future())
                    } else {
                        (
                            bucket_start(period, from, tz),
                            next_bucket_start(period, window.to, tz),
                        )
                    };
                    Replace {
                        user,
                        sample_type,
                        period: period.as_str(),
                        from,
                        to,
                    }
                })
                .collect();
            // Samples starting up to one maximum duration before or after the replaced
            // buckets can overlap, cover or be covered by the samples inside them.
            let load_from = replace.iter().map(|r| r.from).min().expect("four periods") - margin;
            let load_to = replace.iter().map(|r| r.to).max().expect("four periods") + margin;
            Job {
                user,
                sample_type,
                replace,
                load_from: load_from.max(far_past()),
                load_to,
            }
        })
        .collect()
}

/// Runs deduplication and aggregation for every job and keeps the rows inside its replaced
/// ranges. CPU-bound: call it from a blocking thread.
pub fn compute(
    jobs: &[Job],
    samples: &HashMap<(Uuid, SampleType), Vec<Sample>>,
    rankings: &HashMap<Uuid, DeviceRanking>,
    zones: &HashMap<Uuid, Tz>,
) -> Vec<(Uuid, AggregateRow)> {
    let empty_ranking = DeviceRanking::new();
    let no_deletions = HashSet::new();
    let mut out = Vec::new();
    for job in jobs {
        let Some(stored) = samples.get(&(job.user, job.sample_type)) else {
            continue;
        };
        let tz = zones.get(&job.user).copied().unwrap_or(Tz::UTC);
        let ranking = rankings.get(&job.user).unwrap_or(&empty_ranking);
        for row in aggregate_user(stored, &no_deletions, ranking, tz) {
            let inside = job.replace.iter().any(|r| {
                r.period == row.period.as_str()
                    && row.period_start >= r.from
                    && row.period_start < r.to
            });
            if inside {
                out.push((job.user, row));
            }
        }
    }
    out
}

fn far_past() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap()
}

fn far_future() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2200, 1, 1, 0, 0, 0).unwrap()
}
