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

use crate::buckets::{next_bucket_start, Bucketer, Period};
use crate::dedup::{dedup, Counted, Deduplicated, SampleOutcome};
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

/// Rows for all four periods of every bucket holding a counted sample, sorted by type,
/// period and start.
pub fn aggregate(deduplicated: &Deduplicated<'_>, tz: Tz) -> Vec<AggregateRow> {
    aggregate_periods(deduplicated, tz, &Period::ALL)
}

/// [`aggregate`] restricted to `periods` (rows of the other periods are not computed).
pub(crate) fn aggregate_periods(
    deduplicated: &Deduplicated<'_>,
    tz: Tz,
    periods: &[Period],
) -> Vec<AggregateRow> {
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
                        bucketer.split_amount_spans(
                            piece.from,
                            piece.to,
                            piece.amount,
                            |span, amount| {
                                contributions.push((
                                    *period,
                                    span.period_start,
                                    amount,
                                    span.from,
                                    span.to,
                                ));
                            },
                        );
                    }
                }
                // One contribution per bucket: a sample with holes may have several pieces there.
                contributions.sort_by_key(|c| (c.0, c.1));
                for same in contributions.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
                    let amount = same.iter().map(|c| c.2).sum();
                    let bucket = buckets.entry((t, same[0].0, same[0].1)).or_default();
                    bucket.add(amount, device);
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
    let mut rows: Vec<AggregateRow> = buckets
        .into_iter()
        .map(|((sample_type, period, period_start), mut b)| {
            let coverage = (sample_type.kind() == AggregationKind::Cumulative).then(|| {
                let period_end = next_bucket_start(period, period_start, tz);
                seconds(union_length(&mut b.counted_time)) / seconds(period_end - period_start)
            });
            AggregateRow {
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
                coverage,
                device_count: b.devices.len() as u32,
            }
        })
        .collect();
    rows.sort_by_key(|r| (r.sample_type, r.period, r.period_start));
    rows
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
}

#[cfg(test)]
#[path = "aggregate_tests.rs"]
mod tests;
