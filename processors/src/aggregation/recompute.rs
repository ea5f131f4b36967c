//! Recomputes the aggregate rows a batch affected. For each touched (user, type) range it
//! replaces every hour, day, week and month bucket that the range overlaps. Hour and day rows
//! and the days' partials come from all stored samples that can reach those days; week and
//! month rows are then combined from the stored day partials of their days (see
//! `healthpipe_domain::day_partial`), so a new or late sample costs the samples of its days,
//! whatever the history of its month. The result depends only on the stored samples, never
//! on what earlier batches happened to contain: the projection stays a pure function of the
//! log.
//!
//! Memory stays bounded whatever the range: a job's days are cut into chunks of at most one
//! local month, and chunks are loaded and computed in groups whose load ranges add up to at
//! most `GROUP_BUDGET_DAYS` (a time-zone change re-buckets years of history this way, a month
//! at a time).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use healthpipe_domain::{
    aggregate_user_days, bucket_start, combine, next_bucket_start, AggregateRow, AggregationKind,
    DayPartial, DeviceRanking, Horizons, Period, Sample, SampleType,
};
use healthpipe_storage::projections::aggregates::Replace;
use healthpipe_storage::projections::day_partials::DayRange;
use healthpipe_storage::projections::samples::SampleReach;
use uuid::Uuid;

use super::plan::Window;

const PERIODS: [Period; 4] = [Period::Hour, Period::Day, Period::Week, Period::Month];

/// At most this many days of (user, type) load ranges are in memory at once. A day of one
/// type is at most a few thousand samples (heart rate every few seconds is the densest).
const GROUP_BUDGET_DAYS: i64 = 400;

/// One touched (user, type): which buckets to replace, the range of days to compute again
/// from samples (only where samples can be: a re-bucketed history replaces every row but
/// computes the span of its samples), and the days whose partials make its weeks and months.
pub struct Job {
    pub user: Uuid,
    pub sample_type: SampleType,
    pub replace: Vec<Replace>,
    pub compute_from: DateTime<Utc>,
    pub compute_to: DateTime<Utc>,
    pub combine_from: DateTime<Utc>,
    pub combine_to: DateTime<Utc>,
}

impl Job {
    /// The replaced range of `period`.
    pub fn replaced(&self, period: Period) -> &Replace {
        let name = period.as_str();
        self.replace
            .iter()
            .find(|r| r.period == name)
            .expect("a job replaces every period")
    }

    /// The day partials to replace: those of the replaced days.
    pub fn partials_replaced(&self) -> DayRange {
        let days = self.replaced(Period::Day);
        DayRange {
            user: self.user,
            sample_type: self.sample_type,
            from: days.from,
            to: days.to,
        }
    }

    /// The stored day partials its weeks and months are combined from.
    pub fn partials_combined(&self) -> DayRange {
        DayRange {
            user: self.user,
            sample_type: self.sample_type,
            from: self.combine_from,
            to: self.combine_to,
        }
    }

    /// Whether `row` is in the job's replaced range of its period.
    fn replaces(&self, row: &AggregateRow) -> bool {
        self.replaced(row.period).contains(row.period_start)
    }
}

/// A piece of a job: the days starting in `[from, to)`, and the samples that can reach them.
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
    /// The stored samples that can reach the chunk's days: starting in the reach, and not
    /// ending before the first day begins (see `healthpipe_domain::SampleType::reach`: the
    /// samples overlapping the days or one of their samples).
    pub fn samples(&self) -> SampleReach {
        SampleReach {
            user: self.user,
            sample_type: self.sample_type,
            starts_from: self.load_from,
            starts_to: self.load_to,
            ends_from: self.from,
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
                compute_from: bucket_start(Period::Day, first, tz),
                compute_to: next_bucket_start(Period::Day, last, tz),
                combine_from: bucket_start(Period::Week, first, tz).min(bucket_start(
                    Period::Month,
                    first,
                    tz,
                )),
                combine_to: next_bucket_start(Period::Week, last, tz).max(next_bucket_start(
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
            let reach = job.sample_type.reach(from, to);
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

/// Hour and day rows and day partials of every chunk, keeping those it owns: starting inside
/// the chunk and inside its job's replaced ranges. CPU-bound: call it from a blocking thread.
pub fn compute(
    jobs: &[Job],
    chunks: &[Chunk],
    samples: &HashMap<usize, Vec<Sample>>,
    rankings: &HashMap<Uuid, DeviceRanking>,
    zones: &HashMap<Uuid, Tz>,
) -> Computed {
    let empty_ranking = DeviceRanking::new();
    let no_deletions = HashSet::new();
    let mut out = Computed::default();
    for (index, chunk) in chunks.iter().enumerate() {
        let Some(stored) = samples.get(&index) else {
            continue;
        };
        let job = &jobs[chunk.job];
        let tz = zones.get(&chunk.user).copied().unwrap_or(Tz::UTC);
        let ranking = rankings.get(&chunk.user).unwrap_or(&empty_ranking);
        let inside = |start: DateTime<Utc>| start >= chunk.from && start < chunk.to;
        let (rows, partials) = aggregate_user_days(stored, &no_deletions, ranking, tz);
        out.rows.extend(
            rows.into_iter()
                .filter(|row| inside(row.period_start) && job.replaces(row))
                .map(|row| (chunk.user, row)),
        );
        let days = job.replaced(Period::Day);
        out.partials.extend(
            partials
                .into_iter()
                .filter(|p| inside(p.day_start) && days.contains(p.day_start))
                .map(|p| (chunk.user, p)),
        );
    }
    out
}

/// Hour and day rows and day partials computed from samples.
#[derive(Debug, Default)]
pub struct Computed {
    pub rows: Vec<(Uuid, AggregateRow)>,
    pub partials: Vec<(Uuid, DayPartial)>,
}

/// The week and month rows of every job, combined from `partials` (by job index, as
/// [`Job::partials_combined`] loaded them), within the job's replaced ranges.
pub fn combine_weeks_and_months(
    jobs: &[Job],
    partials: &HashMap<usize, Vec<DayPartial>>,
    zones: &HashMap<Uuid, Tz>,
) -> Vec<(Uuid, AggregateRow)> {
    let mut out = Vec::new();
    for (index, job) in jobs.iter().enumerate() {
        let Some(days) = partials.get(&index) else {
            continue;
        };
        let tz = zones.get(&job.user).copied().unwrap_or(Tz::UTC);
        for period in [Period::Week, Period::Month] {
            out.extend(
                combine(days, period, tz)
                    .into_iter()
                    .filter(|row| job.replaces(row))
                    .map(|row| (job.user, row)),
            );
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
    use chrono::TimeDelta;

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

    /// A late sample touches one day: one chunk of that day; its week and month are
    /// combined from the month's day partials.
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
        let day = jobs[0].replaced(Period::Day);
        assert_eq!((chunks[0].from, chunks[0].to), (day.from, day.to));
        let reach = SampleType::Steps.reach(day.from, day.to);
        assert_eq!(
            (chunks[0].load_from, chunks[0].load_to),
            (reach.start, reach.end)
        );
        let month = jobs[0].replaced(Period::Month);
        let combined = jobs[0].partials_combined();
        assert!(combined.from <= month.from && combined.to >= month.to);
    }
}
