//! Recomputes the aggregate rows a batch affected. For each touched (user, type) range it
//! replaces every hour, day, week and month bucket that the range overlaps, from all stored
//! samples that can reach those buckets. The result therefore depends only on the stored
//! samples, never on what earlier batches happened to contain: the projection stays a pure
//! function of the log.
//!
//! Memory stays bounded whatever the range: a job is cut into chunks of at most one local
//! month of buckets, and chunks are loaded and computed in groups whose load ranges add up to
//! at most `GROUP_BUDGET_DAYS` (a time-zone change re-buckets years of history this way, a
//! month at a time).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use healthpipe_domain::{
    aggregate_user, bucket_start, next_bucket_start, AggregateRow, AggregationKind, DeviceRanking,
    Horizons, Period, Sample, SampleType,
};
use healthpipe_storage::projections::aggregates::Replace;
use healthpipe_storage::projections::samples::SampleRange;
use uuid::Uuid;

use super::plan::Window;

const PERIODS: [Period; 4] = [Period::Hour, Period::Day, Period::Week, Period::Month];

/// At most this many days of (user, type) load ranges are in memory at once. A day of one
/// type is at most a few thousand samples (heart rate every few seconds is the densest).
const GROUP_BUDGET_DAYS: i64 = 400;

/// One touched (user, type): which buckets to replace, and the range of bucket starts to
/// compute again (only where samples can be: a re-bucketed history replaces every row but
/// computes the span of its samples).
pub struct Job {
    pub user: Uuid,
    pub sample_type: SampleType,
    pub replace: Vec<Replace>,
    pub compute_from: DateTime<Utc>,
    pub compute_to: DateTime<Utc>,
}

/// A piece of a job: the buckets starting in `[from, to)`, and the samples that can reach them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Chunk {
    pub job: usize,
    pub user: Uuid,
    pub sample_type: SampleType,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub load_from: DateTime<Utc>,
    pub load_to: DateTime<Utc>,
}

impl Chunk {
    /// The stored samples that can reach the chunk's buckets.
    pub fn samples(&self) -> SampleRange {
        SampleRange {
            user: self.user,
            sample_type: self.sample_type,
            from: self.load_from,
            to: self.load_to,
        }
    }
}

/// Plans the recomputation of `windows`; users in `rebucket` have every row replaced (their
/// zone changed, so even bucket boundaries moved). Buckets before `horizons`' first open
/// bucket of each period are left as they are: their samples are gone (see
/// `healthpipe_domain::retention`).
pub fn jobs(
    windows: &HashMap<(Uuid, SampleType), Window>,
    rebucket: &HashSet<Uuid>,
    zones: &HashMap<Uuid, Tz>,
    horizons: &Horizons,
) -> Vec<Job> {
    windows
        .iter()
        .map(|(&(user, sample_type), window)| {
            let tz = zones.get(&user).copied().unwrap_or(Tz::UTC);
            // A discrete or latest sample belongs to the bucket of its start, and a new (or
            // deleted) better sample can drop (or revive) one within its reach that starts
            // earlier: those buckets change too.
            let from = match sample_type.kind() {
                AggregationKind::Cumulative => window.from,
                _ => sample_type.reach(window.from, window.to).start,
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
                    let open = horizons.first_open_bucket(period, tz);
                    Replace {
                        user,
                        sample_type,
                        period: period.as_str(),
                        from: from.max(open).min(to),
                        to,
                    }
                })
                .collect();
            // A week can start in the month before and end in the month after.
            let (first, last) = (from, window.to);
            Job {
                user,
                sample_type,
                replace,
                compute_from: bucket_start(Period::Week, first, tz).min(bucket_start(
                    Period::Month,
                    first,
                    tz,
                )),
                compute_to: next_bucket_start(Period::Week, last, tz).max(next_bucket_start(
                    Period::Month,
                    last,
                    tz,
                )),
            }
        })
        .collect()
}

/// Cuts every job at the local month starts inside its compute range.
pub fn chunks(jobs: &[Job], zones: &HashMap<Uuid, Tz>) -> Vec<Chunk> {
    let mut out = Vec::new();
    for (index, job) in jobs.iter().enumerate() {
        let tz = zones.get(&job.user).copied().unwrap_or(Tz::UTC);
        let mut from = job.compute_from;
        while from < job.compute_to {
            let to = next_bucket_start(Period::Month, from, tz).min(job.compute_to);
            // Buckets starting before `to` end before the end of its month or a week after it.
            let last_end = next_bucket_start(Period::Month, to - TimeDelta::microseconds(1), tz)
                .max(to + TimeDelta::days(8));
            let reach = job.sample_type.reach(from, last_end);
            out.push(Chunk {
                job: index,
                user: job.user,
                sample_type: job.sample_type,
                from,
                to,
                load_from: reach.start.max(far_past()),
                load_to: reach.end,
            });
            from = to;
        }
    }
    out
}

/// Consecutive groups of chunks whose load ranges add up to at most `GROUP_BUDGET_DAYS`
/// (at least one chunk each).
pub fn groups(chunks: Vec<Chunk>) -> Vec<Vec<Chunk>> {
    let mut out: Vec<Vec<Chunk>> = Vec::new();
    let mut days = 0;
    for chunk in chunks {
        let span = (chunk.load_to - chunk.load_from).num_days().max(1);
        match out.last_mut() {
            Some(group) if days + span <= GROUP_BUDGET_DAYS => {
                group.push(chunk);
                days += span;
            }
            _ => {
                out.push(vec![chunk]);
                days = span;
            }
        }
    }
    out
}

/// Runs deduplication and aggregation for every chunk and keeps the rows it owns: those
/// starting inside the chunk and inside its job's replaced ranges. CPU-bound: call it from a
/// blocking thread.
pub fn compute(
    jobs: &[Job],
    chunks: &[Chunk],
    samples: &HashMap<usize, Vec<Sample>>,
    rankings: &HashMap<Uuid, DeviceRanking>,
    zones: &HashMap<Uuid, Tz>,
) -> Vec<(Uuid, AggregateRow)> {
    let empty_ranking = DeviceRanking::new();
    let no_deletions = HashSet::new();
    let mut out = Vec::new();
    for (index, chunk) in chunks.iter().enumerate() {
        let Some(stored) = samples.get(&index) else {
            continue;
        };
        let job = &jobs[chunk.job];
        let tz = zones.get(&chunk.user).copied().unwrap_or(Tz::UTC);
        let ranking = rankings.get(&chunk.user).unwrap_or(&empty_ranking);
        for row in aggregate_user(stored, &no_deletions, ranking, tz) {
            let owned = row.period_start >= chunk.from
                && row.period_start < chunk.to
                && job.replace.iter().any(|r| {
                    r.period == row.period.as_str()
                        && row.period_start >= r.from
                        && row.period_start < r.to
                });
            if owned {
                out.push((chunk.user, row));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Horizons far enough back to change nothing.
    fn long_ago() -> Horizons {
        Horizons::on(chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap())
    }

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
    }

    /// A re-bucketed history of three years is cut into month chunks that cover its compute
    /// range exactly once, each loading about a month, in groups within the budget.
    #[test]
    fn long_ranges_are_chunked_by_month_and_grouped_within_the_budget() {
        let user = Uuid::new_v4();
        let tz = chrono_tz::Europe::Berlin;
        let windows = HashMap::from([(
            (user, SampleType::HeartRate),
            Window {
                from: at(2023, 3, 14),
                to: at(2026, 3, 2),
            },
        )]);
        let zones = HashMap::from([(user, tz)]);
        let jobs = jobs(&windows, &HashSet::from([user]), &zones, &long_ago());
        let chunks = chunks(&jobs, &zones);
        assert!(chunks.len() >= 36, "{} chunks", chunks.len());
        assert_eq!(chunks[0].from, jobs[0].compute_from);
        assert_eq!(chunks.last().unwrap().to, jobs[0].compute_to);
        for pair in chunks.windows(2) {
            assert_eq!(pair[0].to, pair[1].from, "contiguous, no overlap");
        }
        for c in &chunks {
            assert!((c.to - c.from).num_days() <= 31);
            assert!((c.load_to - c.load_from).num_days() <= 31 + 8 + 3);
        }
        let groups = groups(chunks.clone());
        assert_eq!(groups.iter().map(Vec::len).sum::<usize>(), chunks.len());
        for g in &groups {
            let days: i64 = g.iter().map(|c| (c.load_to - c.load_from).num_days()).sum();
            assert!(days <= GROUP_BUDGET_DAYS, "{days} days in one group");
        }
        assert!(groups.len() > 1);
    }

    /// A late sample touches one month: one chunk, the whole month of buckets.
    #[test]
    fn a_short_window_is_one_chunk() {
        let user = Uuid::new_v4();
        let zones = HashMap::from([(user, chrono_tz::America::New_York)]);
        let windows = HashMap::from([(
            (user, SampleType::Steps),
            Window {
                from: at(2026, 11, 10),
                to: at(2026, 11, 10) + TimeDelta::hours(1),
            },
        )]);
        let jobs = jobs(&windows, &HashSet::new(), &zones, &long_ago());
        let chunks = chunks(&jobs, &zones);
        assert_eq!(chunks.len(), 1);
        let month = jobs[0]
            .replace
            .iter()
            .find(|r| r.period == "month")
            .unwrap();
        assert!(chunks[0].from <= month.from && chunks[0].to >= month.to);
    }
}
