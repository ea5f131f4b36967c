//! "Explain this bucket": for one bucket of one type, every sample that was considered, what of
//! it counted there and why, next to the row the bucket aggregates to.
//!
//! The row comes from the same code as the stored aggregates ([`crate::aggregate`], with its
//! canonical summation order), so given the samples that can reach the bucket it is the
//! stored row, to the bit. The reasons are those of [`crate::dedup`] and describe a sample as a
//! whole: a phone sample trimmed by the watch says so even in an hour where all of it counts
//! (its `counted_in_bucket` tells what counted there).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::aggregate::{aggregate_periods, piece_shares, AggregateRow};
use crate::buckets::{bucket_start, next_bucket_start, Bucketer, Period};
use crate::dedup::{dedup, Counted, Reason};
use crate::ranking::DeviceRanking;
use crate::sample::{clean_up, Sample};
use crate::sample_type::{AggregationKind, SampleType};

type Instant = DateTime<Utc>;

/// One bucket, explained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BucketExplanation {
    pub sample_type: SampleType,
    pub period: Period,
    pub period_start: Instant,
    /// The start of the next bucket: `[period_start, period_end)` is the bucket.
    pub period_end: Instant,
    /// The aggregate row of the bucket; `None` when nothing counted there (no row is stored).
    pub row: Option<AggregateRow>,
    /// Every sample of the type that was considered for the bucket, counted or not, ordered by
    /// start, end, device rank and id.
    pub samples: Vec<SampleExplanation>,
}

/// One considered sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleExplanation {
    pub id: String,
    pub device_id: String,
    /// The device's effective priority for the type; `None` for a device the ranking does not
    /// list (it ranks below every listed device).
    pub priority: Option<i64>,
    pub value: f64,
    pub start: Instant,
    pub end: Instant,
    /// The counted share of the whole sample in `0..=1` (of its time for a cumulative sample
    /// with duration, else 1 or 0).
    pub counted_fraction: f64,
    /// What the sample adds to this bucket: its counted amount inside the bucket (cumulative),
    /// or its value if it survives (discrete, latest), else 0.
    pub counted_in_bucket: f64,
    /// Why the sample counts the way it does, from deduplication.
    pub reason: Reason,
}

/// Explains the bucket of `period` containing `at` (normally its start) for `sample_type`.
///
/// `samples` must hold every sample of the type that can reach the bucket: for cumulative
/// types those overlapping it, for discrete and latest those starting in it, plus every sample
/// overlapping those. Loading the samples that start within one maximum sample duration
/// ([`SampleType::max_duration`]) before and after the bucket is enough. Other types and
/// repeated ids (first occurrence wins) are ignored.
///
/// Listed are the samples that belong to the bucket: for cumulative types those whose range
/// overlaps it (an instantaneous one: lies in it), for discrete and latest types those
/// starting in it.
pub fn explain_bucket(
    samples: &[Sample],
    ranking: &DeviceRanking,
    tz: Tz,
    sample_type: SampleType,
    period: Period,
    at: Instant,
) -> BucketExplanation {
    let period_start = bucket_start(period, at, tz);
    let period_end = next_bucket_start(period, period_start, tz);
    let of_type: Vec<&Sample> = clean_up(samples, &HashSet::new())
        .into_iter()
        .filter(|s| s.sample_type == sample_type)
        .collect();
    let deduplicated = dedup(of_type, ranking);
    let row = aggregate_periods(&deduplicated, tz, &[period])
        .into_iter()
        .find(|r| r.period_start == period_start);

    let inside = |t: Instant| period_start <= t && t < period_end;
    let cumulative = sample_type.kind() == AggregationKind::Cumulative;
    let mut bucketer = Bucketer::new(period, tz);
    let mut explained: Vec<(u32, SampleExplanation)> = Vec::new();
    for (sample, outcome) in deduplicated.iter() {
        let listed = if cumulative && !sample.is_instantaneous() {
            sample.start < period_end && sample.effective_end() > period_start
        } else {
            inside(sample.start)
        };
        if !listed {
            continue;
        }
        let counted_in_bucket = match &outcome.counted {
            Counted::Pieces(pieces) => {
                let mut amount = 0.0;
                for piece in pieces {
                    piece_shares(&mut bucketer, sample, piece, |span, share| {
                        if span.period_start == period_start {
                            amount += share;
                        }
                    });
                }
                amount
            }
            Counted::Survives(true) => sample.value,
            Counted::Survives(false) => 0.0,
        };
        explained.push((
            outcome.rank,
            SampleExplanation {
                id: sample.id.clone(),
                device_id: sample.device_id.clone(),
                priority: ranking.effective_priority(&sample.device_id, sample_type),
                value: sample.value,
                start: sample.start,
                end: sample.end,
                counted_fraction: outcome.fraction,
                counted_in_bucket,
                reason: outcome.reason.clone(),
            },
        ));
    }
    explained
        .sort_by(|(ra, a), (rb, b)| (a.start, a.end, ra, &a.id).cmp(&(b.start, b.end, rb, &b.id)));
    BucketExplanation {
        sample_type,
        period,
        period_start,
        period_end,
        row,
        samples: explained.into_iter().map(|(_, e)| e).collect(),
    }
}

#[cfg(test)]
#[path = "explain_tests.rs"]
mod tests;
