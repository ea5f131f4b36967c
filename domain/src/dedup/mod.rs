//! Deduplication: which part of each sample counts when several devices report the same time.
//!
//! Step one of aggregation, kept separate so a processor can store or explain it: for every
//! sample, [`dedup`] says what counts ([`Counted`]) and why ([`Reason`]). The rules are those of
//! the dedup-cases contract, per type and by device rank:
//!
//! - cumulative types: an elementary-interval sweep. On every interval between consecutive
//!   sample boundaries the best-ranked device present wins, and each of its samples there
//!   counts its time-proportional share. A sample therefore keeps exactly the share of its
//!   time not covered by better devices, which can be several separate pieces (a phone sample
//!   with two watch samples inside it keeps three pieces). Sorting by priority and trimming each
//!   sample by the first range that covers it cannot express such holes and misses later
//!   overlaps, so it is not what happens here.
//! - discrete and latest types: a sample is dropped only when better devices together cover
//!   all of it; otherwise it keeps its full value.
//!
//! Cost is O(n log n) plus the number of pieces produced: one sort of the boundaries and a
//! sweep with the active samples ordered by rank (cumulative), or one pass in rank order over
//! a union of ranges (discrete, latest). Instantaneous samples are point lookups.
//!
//! Locality, for recomputing some buckets only: the counted amounts of cumulative samples
//! inside a time range depend only on the samples overlapping that range (instants at its
//! points included). Whether a discrete or latest sample survives depends on the samples
//! overlapping that sample, which may reach outside the bucket of its start.

mod cumulative;
mod discrete;
mod intervals;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ranking::{DeviceRanking, TypeRanks};
use crate::sample::Sample;
use crate::sample_type::{AggregationKind, SampleType};
use intervals::{InstantIndex, RangeIndex};

/// A counted part of a cumulative sample: `amount` of its value over `[from, to)`.
/// A counted instantaneous sample is one piece with `from == to` and its full value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Piece {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub amount: f64,
}

/// What of a sample counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Counted {
    /// Cumulative type: the counted pieces in time order; empty when nothing counts.
    Pieces(Vec<Piece>),
    /// Discrete or latest type: whether the sample survives (with its full value).
    Survives(bool),
}

/// Why a sample counts the way it does, for the "explain this bucket" API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    /// Counts in full.
    Kept,
    /// A cumulative sample that counts partly; `by` are the devices that won its other time,
    /// best first.
    Trimmed { by: Vec<String> },
    /// Counts nothing; `covered_by` are the better devices that cover it, best first.
    Dropped { covered_by: Vec<String> },
}

/// The deduplication result for one sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleOutcome {
    /// Rank of the sample's device among the devices of its type in this input, 0 = best.
    pub rank: u32,
    pub counted: Counted,
    /// The counted share of the sample in 0..=1: of its time for a cumulative sample with
    /// duration, otherwise 1 or 0.
    pub fraction: f64,
    pub reason: Reason,
}

impl SampleOutcome {
    /// Whether anything of the sample counts.
    pub fn is_counted(&self) -> bool {
        match &self.counted {
            Counted::Pieces(pieces) => !pieces.is_empty(),
            Counted::Survives(survives) => *survives,
        }
    }

    fn whole(rank: u32, survives: bool, covered_by: Vec<String>) -> Self {
        let reason = if survives {
            Reason::Kept
        } else {
            Reason::Dropped { covered_by }
        };
        SampleOutcome {
            rank,
            counted: Counted::Survives(survives),
            fraction: f64::from(u8::from(survives)),
            reason,
        }
    }
}

/// Samples with their outcomes, in input order.
#[derive(Debug, Clone)]
pub struct Deduplicated<'a> {
    entries: Vec<(&'a Sample, SampleOutcome)>,
}

impl<'a> Deduplicated<'a> {
    pub fn iter(&self) -> impl Iterator<Item = (&'a Sample, &SampleOutcome)> + '_ {
        self.entries.iter().map(|(s, o)| (*s, o))
    }

    pub fn get(&self, index: usize) -> Option<(&'a Sample, &SampleOutcome)> {
        self.entries.get(index).map(|(s, o)| (*s, o))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Deduplicates one user's samples (any mix of types; types never affect each other).
/// Input order does not matter; run [`crate::clean_up`] first if ids may repeat.
pub fn dedup<'a>(
    samples: impl IntoIterator<Item = &'a Sample>,
    ranking: &DeviceRanking,
) -> Deduplicated<'a> {
    let samples: Vec<&'a Sample> = samples.into_iter().collect();
    let mut by_type: BTreeMap<SampleType, Vec<usize>> = BTreeMap::new();
    for (i, s) in samples.iter().enumerate() {
        by_type.entry(s.sample_type).or_default().push(i);
    }
    let mut outcomes: Vec<Option<SampleOutcome>> = samples.iter().map(|_| None).collect();
    for (sample_type, indices) in by_type {
        let group = TypeGroup::new(
            indices.iter().map(|&i| samples[i]).collect(),
            ranking,
            sample_type,
        );
        let results = match sample_type.kind() {
            AggregationKind::Cumulative => cumulative::dedup(&group),
            AggregationKind::Discrete | AggregationKind::Latest => discrete::dedup(&group),
        };
        for (i, outcome) in indices.into_iter().zip(results) {
            outcomes[i] = Some(outcome);
        }
    }
    let entries = samples
        .into_iter()
        .zip(outcomes)
        .map(|(s, o)| (s, o.expect("every sample has a type group")))
        .collect();
    Deduplicated { entries }
}

/// The samples of one type with their device ranks: the common input of both algorithms.
struct TypeGroup<'a> {
    samples: Vec<&'a Sample>,
    ranks: Vec<u32>,
    devices: TypeRanks<'a>,
}

impl<'a> TypeGroup<'a> {
    fn new(samples: Vec<&'a Sample>, ranking: &DeviceRanking, sample_type: SampleType) -> Self {
        let devices = TypeRanks::new(
            ranking,
            sample_type,
            samples.iter().map(|s| s.device_id.as_str()),
        );
        let ranks = samples.iter().map(|s| devices.rank(&s.device_id)).collect();
        TypeGroup {
            samples,
            ranks,
            devices,
        }
    }

    fn len(&self) -> usize {
        self.samples.len()
    }

    /// `[start, end)` of every sample with duration, with its rank.
    fn ranges(&self) -> impl Iterator<Item = (u32, DateTime<Utc>, DateTime<Utc>)> + '_ {
        self.samples
            .iter()
            .zip(&self.ranks)
            .filter(|(s, _)| !s.is_instantaneous())
            .map(|(s, &r)| (r, s.start, s.effective_end()))
    }

    fn range_index(&self) -> RangeIndex {
        RangeIndex::new(self.devices.len(), self.ranges())
    }

    fn instant_index(&self) -> InstantIndex {
        InstantIndex::new(
            self.samples
                .iter()
                .zip(&self.ranks)
                .filter(|(s, _)| s.is_instantaneous())
                .map(|(s, &r)| (s.start, r)),
        )
    }

    /// The devices ranked better than `rank` for which `pred(device_rank)` holds, best first.
    fn better_devices(&self, rank: u32, pred: impl Fn(u32) -> bool) -> Vec<String> {
        (0..rank)
            .filter(|&r| pred(r))
            .map(|r| self.devices.device(r).to_owned())
            .collect()
    }

    /// Why instantaneous sample `i` is dropped: better devices with a range around it or an
    /// instant at the same time.
    fn instant_covered_by(
        &self,
        i: usize,
        ranges: &RangeIndex,
        instants: &InstantIndex,
    ) -> Vec<String> {
        let t = self.samples[i].start;
        let at_t = instants.ranks_at(t);
        self.better_devices(self.ranks[i], |r| {
            ranges.covers_point(r, t) || at_t.contains(&r)
        })
    }
}

#[cfg(test)]
mod tests;
