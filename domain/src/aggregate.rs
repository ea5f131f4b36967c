//! Aggregation: deduplicated samples become one row per (type, period, bucket).
//!
//! Cumulative pieces are split over buckets in proportion to absolute time; a sample's
//! contribution to a bucket is the sum of its pieces there, and min/max are taken over those
//! per-sample contributions. Surviving discrete and latest samples belong wholly to the bucket
//! of their start. A bucket without a counted sample has no row (not a row of zeros).
//!
//! Each row also says how well the bucket is covered, so a quiet day can be told from a day
//! the devices were off: for cumulative types the share of the bucket's time that counted
//! samples cover, and for every type the number of devices that contributed.
//!
//! Samples are visited in a canonical order (start, end, id), so the floating-point sums of a
//! bucket do not depend on the order the samples were loaded in: the processor and the
//! explain API, loading different windows around a bucket, get the same bits.

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::buckets::{next_bucket_start, BucketSpan, Bucketer, Period};
use crate::day_partial::{DayPartial, Latest};
use crate::dedup::{dedup, Counted, Deduplicated, Piece, SampleOutcome};
use crate::ranking::DeviceRanking;
use crate::sample::{clean_up, Sample};
use crate::sample_type::{AggregationKind, SampleType};
use crate::time::seconds;

type Instant = DateTime<Utc>;

/// One aggregated bucket of one type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregateRow {
    pub sample_type: SampleType,
    pub period: Period,
    pub period_start: DateTime<Utc>,
    /// Sum (cumulative), mean (discrete) or latest value (latest).
    pub value: f64,
    pub min_value: f64,
    pub max_value: f64,
    /// Distinct samples counted in the bucket.
    pub sample_count: u32,
    /// Cumulative types: the length of the union of the counted time inside the bucket divided
    /// by the bucket's length (23 or 25 hours on a DST day), in `0..=1`. A counted
    /// instantaneous sample adds no time. `None` for discrete and latest types.
    #[serde(default)]
    pub coverage: Option<f64>,
    /// Distinct devices with a sample counted in the bucket.
    #[serde(default)]
    pub device_count: u32,
}

/// The whole pipeline for one user: clean-up (first occurrence of an id wins, deleted ids
/// removed), deduplication, aggregation over all four periods. Rows are sorted by type,
/// period and start.
pub fn aggregate_user(
    samples: &[Sample],
    deleted: &HashSet<String>,
    ranking: &DeviceRanking,
    tz: Tz,
) -> Vec<AggregateRow> {
    aggregate(&dedup(clean_up(samples, deleted), ranking), tz)
}

/// [`aggregate_user`]'s hour and day rows and day partials (see [`aggregate_days`]).
pub fn aggregate_user_days(
    samples: &[Sample],
    deleted: &HashSet<String>,
    ranking: &DeviceRanking,
    tz: Tz,
) -> (Vec<AggregateRow>, Vec<DayPartial>) {
    aggregate_days(&dedup(clean_up(samples, deleted), ranking), tz)
}

/// Rows for all four periods of every bucket holding a counted sample, sorted by type,
/// period and start. Week and month rows are combined from day partials (see
/// [`crate::day_partial`]).
pub fn aggregate(deduplicated: &Deduplicated<'_>, tz: Tz) -> Vec<AggregateRow> {
    aggregate_periods(deduplicated, tz, &Period::ALL)
}

/// Hour and day rows (sorted by type, period and start) and the partials of every day
/// holding a counted sample (sorted by type and day): what the processor computes from
/// samples, before combining weeks and months from stored partials with [`combine`].
pub fn aggregate_days(
    deduplicated: &Deduplicated<'_>,
    tz: Tz,
) -> (Vec<AggregateRow>, Vec<DayPartial>) {
    let (mut rows, mut partials) = bucket_rows(deduplicated, tz, &[Period::Hour, Period::Day]);
    rows.sort_by_key(|r| (r.sample_type, r.period, r.period_start));
    partials.sort_by_key(|p| (p.sample_type, p.day_start));
    (rows, partials)
}

/// [`aggregate`] restricted to `periods` (rows of the other periods are not computed).
pub(crate) fn aggregate_periods(
    deduplicated: &Deduplicated<'_>,
    tz: Tz,
    periods: &[Period],
) -> Vec<AggregateRow> {
    let combined: Vec<Period> = [Period::Week, Period::Month]
        .into_iter()
        .filter(|p| periods.contains(p))
        .collect();
    let bucketed: Vec<Period> = [Period::Hour, Period::Day]
        .into_iter()
        .filter(|&p| periods.contains(&p) || (p == Period::Day && !combined.is_empty()))
        .collect();
    let (rows, partials) = bucket_rows(deduplicated, tz, &bucketed);
    let mut rows: Vec<AggregateRow> = rows
        .into_iter()
        .filter(|r| periods.contains(&r.period))
        .collect();
    for period in combined {
        rows.extend(combine(&partials, period, tz));
    }
    rows.sort_by_key(|r| (r.sample_type, r.period, r.period_start));
    rows
}

/// The rows of `periods` (hour and day only) straight from the samples' contributions, and
/// the partials of the day buckets if `periods` holds days. Unsorted.
fn bucket_rows(
    deduplicated: &Deduplicated<'_>,
    tz: Tz,
    periods: &[Period],
) -> (Vec<AggregateRow>, Vec<DayPartial>) {
    let mut buckets: HashMap<(SampleType, Period, Instant), Bucket<'_>> = HashMap::new();
    // One sample's shares: (period, bucket start, share, counted span inside the bucket).
    let mut contributions: Vec<(Period, Instant, f64, Instant, Instant)> = Vec::new();
    let mut bucketers: Vec<(Period, Bucketer)> =
        periods.iter().map(|&p| (p, Bucketer::new(p, tz))).collect();
    for (sample, outcome) in canonical_order(deduplicated) {
        let t = sample.sample_type;
        let device = sample.device_id.as_str();
        match &outcome.counted {
            Counted::Pieces(pieces) => {
                contributions.clear();
                for (period, bucketer) in &mut bucketers {
                    for piece in pieces {
                        piece_shares(bucketer, sample, piece, |span, amount| {
                            contributions.push((
                                *period,
                                span.period_start,
                                amount,
                                span.from,
                                span.to,
                            ));
                        });
                    }
                }
                // One contribution per bucket: a sample with holes may have several pieces there.
                contributions.sort_by_key(|c| (c.0, c.1));
                // Shared with other days by its own span, not by where it ended up counted:
                // whether better samples took all of its other days depends on samples
                // beyond this day's reach, and a day's partial must not.
                let shared = bucketers
                    .iter_mut()
                    .find(|(p, _)| *p == Period::Day)
                    .is_some_and(|(_, days)| spans_days(days, sample));
                for same in contributions.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
                    let amount = same.iter().map(|c| c.2).sum();
                    let bucket = buckets.entry((t, same[0].0, same[0].1)).or_default();
                    bucket.add(amount, device);
                    if same[0].0 == Period::Day {
                        bucket.add_to_day(amount, shared.then_some(sample.id.as_str()));
                    }
                    bucket
                        .counted_time
                        .extend(same.iter().filter(|c| c.3 < c.4).map(|c| (c.3, c.4)));
                }
            }
            Counted::Survives(true) => {
                let latest_key = (
                    sample.start,
                    sample.end,
                    Reverse(outcome.rank),
                    sample.id.as_str(),
                );
                for (period, bucketer) in &mut bucketers {
                    let bucket = buckets
                        .entry((t, *period, bucketer.bucket_start(sample.start)))
                        .or_default();
                    bucket.add(sample.value, device);
                    if *period == Period::Day {
                        bucket.add_to_day(sample.value, None);
                    }
                    if bucket
                        .latest
                        .as_ref()
                        .is_none_or(|(key, _)| latest_key > *key)
                    {
                        bucket.latest = Some((latest_key, sample.value));
                    }
                }
            }
            Counted::Survives(false) => {}
        }
    }
    let mut rows = Vec::with_capacity(buckets.len());
    let mut partials = Vec::new();
    for ((sample_type, period, period_start), mut b) in buckets {
        let counted = union_length(&mut b.counted_time);
        let cumulative = sample_type.kind() == AggregationKind::Cumulative;
        rows.push(AggregateRow {
            sample_type,
            period,
            period_start,
            value: match sample_type.kind() {
                AggregationKind::Cumulative => b.sum,
                AggregationKind::Discrete => b.sum / f64::from(b.count),
                AggregationKind::Latest => b.latest.map_or(f64::NAN, |(_, value)| value),
            },
            min_value: b.min,
            max_value: b.max,
            sample_count: b.count,
            coverage: cumulative.then(|| coverage(counted, period, period_start, tz)),
            device_count: b.devices.len() as u32,
        });
        if period == Period::Day {
            partials.push(b.into_partial(sample_type, period_start, counted));
        }
    }
    (rows, partials)
}

/// The week or month rows of the days in `partials` (any order; several types at once),
/// sorted by type and start. Sums run in day order.
pub fn combine(partials: &[DayPartial], period: Period, tz: Tz) -> Vec<AggregateRow> {
    let mut sorted: Vec<&DayPartial> = partials.iter().collect();
    sorted.sort_by_key(|p| (p.sample_type, p.day_start));
    let mut bucketer = Bucketer::new(period, tz);
    let keyed: Vec<((SampleType, Instant), &DayPartial)> = sorted
        .into_iter()
        .map(|p| ((p.sample_type, bucketer.bucket_start(p.day_start)), p))
        .collect();
    keyed
        .chunk_by(|a, b| a.0 == b.0)
        .map(|days| {
            let (sample_type, period_start) = days[0].0;
            combine_days(
                sample_type,
                period,
                period_start,
                days.iter().map(|(_, p)| *p),
                tz,
            )
        })
        .collect()
}

/// One week or month row from its days' partials, in day order.
fn combine_days<'a>(
    sample_type: SampleType,
    period: Period,
    period_start: Instant,
    days: impl Iterator<Item = &'a DayPartial>,
    tz: Tz,
) -> AggregateRow {
    let mut sum = 0.0;
    let (mut count, mut min, mut max) = (0u32, f64::INFINITY, f64::NEG_INFINITY);
    let mut shared: Vec<(&str, f64)> = Vec::new();
    let mut counted_nanos = 0i64;
    let mut devices: Vec<&str> = Vec::new();
    let mut latest: Option<&Latest> = None;
    for day in days {
        sum += day.sum;
        count += day.whole_count;
        min = day.whole_min.map_or(min, |m| min.min(m));
        max = day.whole_max.map_or(max, |m| max.max(m));
        for (id, amount) in &day.shared {
            match shared.iter_mut().find(|(seen, _)| seen == id) {
                Some((_, total)) => *total += amount,
                None => shared.push((id, *amount)),
            }
        }
        counted_nanos += day.counted_nanos;
        for device in &day.devices {
            if !devices.contains(&device.as_str()) {
                devices.push(device);
            }
        }
        if let Some(candidate) = &day.latest {
            if latest.is_none_or(|l| candidate.start > l.start) {
                latest = Some(candidate);
            }
        }
    }
    for (_, total) in &shared {
        min = min.min(*total);
        max = max.max(*total);
    }
    count += shared.len() as u32;
    AggregateRow {
        sample_type,
        period,
        period_start,
        value: match sample_type.kind() {
            AggregationKind::Cumulative => sum,
            AggregationKind::Discrete => sum / f64::from(count),
            AggregationKind::Latest => latest.map_or(f64::NAN, |l| l.value),
        },
        min_value: min,
        max_value: max,
        sample_count: count,
        coverage: (sample_type.kind() == AggregationKind::Cumulative).then(|| {
            coverage(
                TimeDelta::nanoseconds(counted_nanos),
                period,
                period_start,
                tz,
            )
        }),
        device_count: devices.len() as u32,
    }
}

/// The share of the bucket's time that `counted` covers (23 or 25 hours on a DST day).
fn coverage(counted: TimeDelta, period: Period, period_start: Instant, tz: Tz) -> f64 {
    let period_end = next_bucket_start(period, period_start, tz);
    seconds(counted) / seconds(period_end - period_start)
}

/// Calls `f` with the part of a counted `piece` of `sample` in each bucket and the share of
/// the sample's value it carries, `value × part ÷ the sample's length`: computed from the
/// sample alone, so a bucket's share does not depend on where the piece around it begins and
/// ends (samples far from the bucket move those). An instantaneous piece carries its amount.
pub(crate) fn piece_shares(
    bucketer: &mut Bucketer,
    sample: &Sample,
    piece: &Piece,
    mut f: impl FnMut(BucketSpan, f64),
) {
    if piece.from >= piece.to {
        bucketer.split_amount_spans(piece.from, piece.to, piece.amount, f);
        return;
    }
    let length = seconds(sample.effective_end() - sample.start);
    bucketer.split(piece.from, piece.to, |span| {
        f(span, sample.value * (seconds(span.to - span.from) / length))
    });
}

/// Whether `sample`'s own range `[start, end)` lies in more than one local day.
fn spans_days(days: &mut Bucketer, sample: &Sample) -> bool {
    sample.end > sample.start
        && days.bucket_start(sample.start)
            != days.bucket_start(sample.end - TimeDelta::nanoseconds(1))
}

/// The samples by (start, end, id), which fixes the order of every floating-point sum.
fn canonical_order<'a, 'b>(
    deduplicated: &'b Deduplicated<'a>,
) -> Vec<(&'a Sample, &'b SampleOutcome)> {
    let mut entries: Vec<_> = deduplicated.iter().collect();
    entries.sort_by(|(a, _), (b, _)| (a.start, a.end, &a.id).cmp(&(b.start, b.end, &b.id)));
    entries
}

/// The total length of the union of `spans` (reordered in place).
fn union_length(spans: &mut [(Instant, Instant)]) -> TimeDelta {
    spans.sort_unstable();
    let mut total = TimeDelta::zero();
    let mut current: Option<(Instant, Instant)> = None;
    for &(from, to) in spans.iter() {
        match &mut current {
            Some((_, end)) if from <= *end => *end = (*end).max(to),
            _ => {
                if let Some((a, b)) = current {
                    total += b - a;
                }
                current = Some((from, to));
            }
        }
    }
    if let Some((a, b)) = current {
        total += b - a;
    }
    total
}

/// Latest-value order: later start, then later end, then better device (lower rank), then
/// larger id.
type LatestKey<'a> = (Instant, Instant, Reverse<u32>, &'a str);

/// Running totals of one bucket; `add` takes one sample's contribution.
#[derive(Debug)]
struct Bucket<'a> {
    sum: f64,
    min: f64,
    max: f64,
    count: u32,
    latest: Option<(LatestKey<'a>, f64)>,
    /// The contributing devices, each once (a handful per bucket, so a list).
    devices: Vec<&'a str>,
    /// The counted time inside the bucket, possibly overlapping (cumulative types).
    counted_time: Vec<(Instant, Instant)>,
    /// Day buckets: the samples whose range lies in this day alone (count, min, max of
    /// contributions) and those whose range spans other days too (id, amount here).
    whole: (u32, f64, f64),
    shared: Vec<(&'a str, f64)>,
}

impl Default for Bucket<'_> {
    fn default() -> Self {
        Bucket {
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            count: 0,
            latest: None,
            devices: Vec::new(),
            counted_time: Vec::new(),
            whole: (0, f64::INFINITY, f64::NEG_INFINITY),
            shared: Vec::new(),
        }
    }
}

impl<'a> Bucket<'a> {
    fn add(&mut self, value: f64, device: &'a str) {
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.count += 1;
        if !self.devices.contains(&device) {
            self.devices.push(device);
        }
    }

    /// Notes one contribution to a day bucket (after [`Bucket::add`]): of a sample whose range
    /// lies in this day alone, or of the sample `shared` whose range spans other days too.
    fn add_to_day(&mut self, value: f64, shared: Option<&'a str>) {
        match shared {
            Some(id) => self.shared.push((id, value)),
            None => {
                self.whole.0 += 1;
                self.whole.1 = self.whole.1.min(value);
                self.whole.2 = self.whole.2.max(value);
            }
        }
    }

    /// The partial of this day bucket; `counted` is the union of its counted time.
    fn into_partial(
        self,
        sample_type: SampleType,
        day_start: Instant,
        counted: TimeDelta,
    ) -> DayPartial {
        let (whole_count, min, max) = self.whole;
        let mut devices: Vec<String> = self.devices.iter().map(|d| d.to_string()).collect();
        devices.sort_unstable();
        DayPartial {
            sample_type,
            day_start,
            sum: self.sum,
            whole_count,
            whole_min: (whole_count > 0).then_some(min),
            whole_max: (whole_count > 0).then_some(max),
            shared: self
                .shared
                .iter()
                .map(|(id, a)| (id.to_string(), *a))
                .collect(),
            counted_nanos: counted.num_nanoseconds().unwrap_or(i64::MAX),
            devices,
            latest: self
                .latest
                .filter(|_| sample_type.kind() == AggregationKind::Latest)
                .map(|((start, _, _, id), value)| Latest {
                    start,
                    id: id.to_string(),
                    value,
                }),
        }
    }
}

#[cfg(test)]
#[path = "aggregate_tests.rs"]
mod tests;
