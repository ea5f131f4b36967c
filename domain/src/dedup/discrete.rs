//! Discrete and latest types: survival by cover.
//!
//! Samples are visited in rank order, best first. Before a rank's samples are checked, the
//! union holds exactly the ranges of all strictly better devices, so "covered by better
//! devices together" is one lookup; then the rank's own ranges join the union. Samples of one
//! device never see their own ranges, so they never remove each other.

use super::intervals::IntervalUnion;
use super::{SampleOutcome, TypeGroup};

pub(super) fn dedup(group: &TypeGroup<'_>) -> Vec<SampleOutcome> {
    let ranks = &group.ranks;
    let instants = group.instant_index();
    let mut order: Vec<usize> = (0..group.len()).collect();
    order.sort_unstable_by_key(|&i| ranks[i]);

    let mut survives = vec![true; group.len()];
    let mut better = IntervalUnion::default();
    for same_rank in order.chunk_by(|&a, &b| ranks[a] == ranks[b]) {
        for &i in same_rank {
            let s = group.samples[i];
            survives[i] = if s.is_instantaneous() {
                !better.contains(s.start) && !instants.outranked_at(s.start, ranks[i])
            } else {
                // Instants never drop a range: only ranges are in the union.
                !better.covers(s.start, s.effective_end())
            };
        }
        for &i in same_rank {
            let s = group.samples[i];
            better.insert(s.start, s.effective_end());
        }
    }

    let ranges = survives.contains(&false).then(|| group.range_index());
    survives
        .into_iter()
        .enumerate()
        .map(|(i, survives)| {
            let covered_by = match &ranges {
                Some(ranges) if !survives => {
                    let s = group.samples[i];
                    if s.is_instantaneous() {
                        group.instant_covered_by(i, ranges, &instants)
                    } else {
                        group.better_devices(ranks[i], |r| {
                            ranges.overlaps(r, s.start, s.effective_end())
                        })
                    }
                }
                _ => Vec::new(),
            };
            SampleOutcome::whole(ranks[i], survives, covered_by)
        })
        .collect()
}
