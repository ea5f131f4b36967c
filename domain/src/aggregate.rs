//! Aggregation: deduplicated samples become one row per (type, period, bucket).
//!
//! Cumulative pieces are split over buckets in proportion to absolute time; a sample's
//! contribution to a bucket is the sum of its pieces there, and min/max are taken over those
//! per-sample contributions. Surviving discrete and latest samples belong wholly to the bucket
//! of their start. A bucket without a counted sample has no row (not a row of zeros).

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::buckets::{Bucketer, Period};
use crate::dedup::{dedup, Counted, Deduplicated};
use crate::ranking::DeviceRanking;
use crate::sample::{clean_up, Sample};
use crate::sample_type::{AggregationKind, SampleType};

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
    let mut buckets: HashMap<(SampleType, Period, DateTime<Utc>), Bucket<'_>> = HashMap::new();
    let mut contributions: Vec<(Period, DateTime<Utc>, f64)> = Vec::new();
    let mut bucketers = Period::ALL.map(|period| Bucketer::new(period, tz));
    for (sample, outcome) in deduplicated.iter() {
        let t = sample.sample_type;
        match &outcome.counted {
            Counted::Pieces(pieces) => {
                contributions.clear();
                for (period, bucketer) in Period::ALL.into_iter().zip(&mut bucketers) {
                    for piece in pieces {
                        bucketer.split_amount(
                            piece.from,
                            piece.to,
                            piece.amount,
                            |start, amount| {
                                contributions.push((period, start, amount));
                            },
                        );
                    }
                }
                // One contribution per bucket: a sample with holes may have several pieces there.
                contributions.sort_by_key(|&(period, start, _)| (period, start));
                for same in contributions.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
                    let amount = same.iter().map(|c| c.2).sum();
                    buckets
                        .entry((t, same[0].0, same[0].1))
                        .or_default()
                        .add(amount);
                }
            }
            Counted::Survives(true) => {
                let latest_key = (
                    sample.start,
                    sample.end,
                    Reverse(outcome.rank),
                    sample.id.as_str(),
                );
                for (period, bucketer) in Period::ALL.into_iter().zip(&mut bucketers) {
                    let bucket = buckets
                        .entry((t, period, bucketer.bucket_start(sample.start)))
                        .or_default();
                    bucket.add(sample.value);
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
        .map(|((sample_type, period, period_start), b)| AggregateRow {
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
        })
        .collect();
    rows.sort_by_key(|r| (r.sample_type, r.period, r.period_start));
    rows
}

/// Latest-value order: later start, then later end, then better device (lower rank), then
/// larger id.
type LatestKey<'a> = (DateTime<Utc>, DateTime<Utc>, Reverse<u32>, &'a str);

/// Running totals of one bucket; `add` takes one sample's contribution.
#[derive(Debug)]
struct Bucket<'a> {
    sum: f64,
    min: f64,
    max: f64,
    count: u32,
    latest: Option<(LatestKey<'a>, f64)>,
}

impl Default for Bucket<'_> {
    fn default() -> Self {
        Bucket {
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            count: 0,
            latest: None,
        }
    }
}

impl Bucket<'_> {
    fn add(&mut self, value: f64) {
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.count += 1;
    }
}

#[cfg(test)]
#[path = "aggregate_tests.rs"]
mod tests;
