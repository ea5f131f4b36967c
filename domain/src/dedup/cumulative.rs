//! Cumulative types: the elementary-interval sweep.
//!
//! All boundaries are sorted once. Walking them in order, the samples spanning the current
//! elementary interval are kept in a set ordered by (rank, index), so the winning device is the
//! first element. A sample's piece is opened when it is active and its device wins, and closed
//! when either stops being true; the winner only changes at boundaries, so a piece is a maximal
//! run of elementary intervals and its amount is computed once, when it closes.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};

use super::intervals::RangeIndex;
use super::{Counted, Piece, Reason, SampleOutcome, TypeGroup};
use crate::time::seconds;

type Instant = DateTime<Utc>;

/// What the sweep finds: counted pieces per sample (by index in the group) and the timeline
/// of winners, as disjoint `(from, to, rank)` segments in time order.
struct Sweep {
    pieces: Vec<Vec<Piece>>,
    winners: Vec<(Instant, Instant, u32)>,
}

pub(super) fn dedup(group: &TypeGroup<'_>) -> Vec<SampleOutcome> {
    let Sweep { pieces, winners } = sweep(group);
    let winner_index = RangeIndex::new(
        group.devices.len(),
        winners.iter().map(|&(from, to, rank)| (rank, from, to)),
    );
    let instants = group.instant_index();
    let mut ranges: Option<RangeIndex> = None;
    let mut outcomes = Vec::with_capacity(group.len());
    for (i, pieces) in pieces.into_iter().enumerate() {
        let sample = group.samples[i];
        let rank = group.ranks[i];
        let outcome = if sample.is_instantaneous() {
            let t = sample.start;
            let covered =
                winner_at(&winners, t).is_some_and(|w| w < rank) || instants.outranked_at(t, rank);
            if covered {
                let ranges = ranges.get_or_insert_with(|| group.range_index());
                let covered_by = group.instant_covered_by(i, ranges, &instants);
                SampleOutcome {
                    rank,
                    counted: Counted::Pieces(Vec::new()),
                    fraction: 0.0,
                    reason: Reason::Dropped { covered_by },
                }
            } else {
                let piece = Piece {
                    from: t,
                    to: t,
                    amount: sample.value,
                };
                SampleOutcome {
                    rank,
                    counted: Counted::Pieces(vec![piece]),
                    fraction: 1.0,
                    reason: Reason::Kept,
                }
            }
        } else {
            let (start, end) = (sample.start, sample.effective_end());
            let counted: TimeDelta = pieces.iter().map(|p| p.to - p.from).sum();
            let reason = if counted == end - start {
                Reason::Kept
            } else {
                // Only a better device can win while this sample is active.
                let by = group.better_devices(rank, |r| winner_index.overlaps(r, start, end));
                if pieces.is_empty() {
                    Reason::Dropped { covered_by: by }
                } else {
                    Reason::Trimmed { by }
                }
            };
            let fraction = seconds(counted) / seconds(end - start);
            SampleOutcome {
                rank,
                counted: Counted::Pieces(pieces),
                fraction,
                reason,
            }
        };
        outcomes.push(outcome);
    }
    outcomes
}

/// The rank winning the elementary interval that contains `t`, if any sample spans it.
fn winner_at(winners: &[(Instant, Instant, u32)], t: Instant) -> Option<u32> {
    let n = winners.partition_point(|&(from, _, _)| from <= t);
    (n > 0)
        .then(|| winners[n - 1])
        .filter(|&(_, to, _)| to > t)
        .map(|(_, _, rank)| rank)
}

fn sweep(group: &TypeGroup<'_>) -> Sweep {
    let ranks = &group.ranks;
    // (time, is_start, sample index). Instantaneous samples do not cut.
    let mut events: Vec<(Instant, bool, usize)> = Vec::with_capacity(2 * group.len());
    for (i, s) in group.samples.iter().enumerate() {
        if !s.is_instantaneous() {
            events.push((s.start, true, i));
            events.push((s.effective_end(), false, i));
        }
    }
    events.sort_unstable_by_key(|&(t, _, _)| t);

    let mut pieces: Vec<Vec<Piece>> = vec![Vec::new(); group.len()];
    let mut open: Vec<Option<Instant>> = vec![None; group.len()];
    let mut winners: Vec<(Instant, Instant, u32)> = Vec::new();
    let mut active: BTreeSet<(u32, usize)> = BTreeSet::new();
    let mut winner: Option<u32> = None;
    let mut previous: Option<Instant> = None;
    let close = |pieces: &mut Vec<Vec<Piece>>, i: usize, from: Instant, to: Instant| {
        let s = group.samples[i];
        let amount = s.value * (seconds(to - from) / seconds(s.effective_end() - s.start));
        pieces[i].push(Piece { from, to, amount });
    };

    for batch in events.chunk_by(|a, b| a.0 == b.0) {
        let t = batch[0].0;
        if let (Some(w), Some(from)) = (winner, previous) {
            match winners.last_mut() {
                Some(last) if last.2 == w && last.1 == from => last.1 = t,
                _ => winners.push((from, t, w)),
            }
        }
        for &(_, _, i) in batch.iter().filter(|e| !e.1) {
            active.remove(&(ranks[i], i));
            if let Some(from) = open[i].take() {
                close(&mut pieces, i, from, t);
            }
        }
        for &(_, _, i) in batch.iter().filter(|e| e.1) {
            active.insert((ranks[i], i));
        }
        let new_winner = active.first().map(|&(rank, _)| rank);
        if new_winner != winner {
            if let Some(w) = winner {
                for &(_, j) in active.range((w, 0)..=(w, usize::MAX)) {
                    if let Some(from) = open[j].take() {
                        close(&mut pieces, j, from, t);
                    }
                }
            }
            if let Some(w) = new_winner {
                for &(_, j) in active.range((w, 0)..=(w, usize::MAX)) {
                    open[j] = Some(t);
                }
            }
        } else if let Some(w) = new_winner {
            for &(_, _, i) in batch.iter().filter(|e| e.1 && ranks[e.2] == w) {
                open[i] = Some(t);
            }
        }
        winner = new_winner;
        previous = Some(t);
    }
    Sweep { pieces, winners }
}
