//! Interval structures behind deduplication, each answering its question in O(log n).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

type Instant = DateTime<Utc>;

/// A union of half-open ranges `[from, to)`, kept as disjoint, non-touching spans so that
/// "is this range inside the union" is one lookup. Touching ranges merge: `[1,2) ∪ [2,3)`
/// covers `[1,3)`.
#[derive(Debug, Default)]
pub(crate) struct IntervalUnion {
    spans: BTreeMap<Instant, Instant>,
}

impl IntervalUnion {
    /// Adds `[from, to)`; empty ranges add nothing. Amortised O(log n): every span merged away
    /// was inserted once.
    pub(crate) fn insert(&mut self, mut from: Instant, mut to: Instant) {
        if from >= to {
            return;
        }
        if let Some((&s, &e)) = self.spans.range(..=from).next_back() {
            if e >= from {
                self.spans.remove(&s);
                from = s;
                to = to.max(e);
            }
        }
        while let Some((&s, &e)) = self.spans.range(from..=to).next() {
            self.spans.remove(&s);
            to = to.max(e);
        }
        self.spans.insert(from, to);
    }

    /// Whether `[from, to)` lies inside the union (for `from < to`).
    pub(crate) fn covers(&self, from: Instant, to: Instant) -> bool {
        self.spans
            .range(..=from)
            .next_back()
            .is_some_and(|(_, &e)| e >= to)
    }

    /// Whether the point `t` lies inside the union.
    pub(crate) fn contains(&self, t: Instant) -> bool {
        self.spans
            .range(..=t)
            .next_back()
            .is_some_and(|(_, &e)| e > t)
    }
}

/// Per-rank ranges, for "which devices touch this range or point". Each rank's ranges are
/// sorted by start with a running maximum of the ends, so a query is one binary search.
#[derive(Debug)]
pub(crate) struct RangeIndex {
    per_rank: Vec<RankRanges>,
}

#[derive(Debug, Default)]
struct RankRanges {
    starts: Vec<Instant>,
    max_end: Vec<Instant>,
}

impl RangeIndex {
    pub(crate) fn new(
        ranks: usize,
        ranges: impl IntoIterator<Item = (u32, Instant, Instant)>,
    ) -> Self {
        let mut lists: Vec<Vec<(Instant, Instant)>> = vec![Vec::new(); ranks];
        for (rank, from, to) in ranges {
            lists[rank as usize].push((from, to));
        }
        let per_rank = lists
            .into_iter()
            .map(|mut list| {
                list.sort_unstable();
                let mut max_end = Vec::with_capacity(list.len());
                for &(_, to) in &list {
                    max_end.push(max_end.last().map_or(to, |&m: &Instant| m.max(to)));
                }
                RankRanges {
                    starts: list.into_iter().map(|(from, _)| from).collect(),
                    max_end,
                }
            })
            .collect();
        RangeIndex { per_rank }
    }

    /// Some range of `rank` shares positive time with `[from, to)`.
    pub(crate) fn overlaps(&self, rank: u32, from: Instant, to: Instant) -> bool {
        let r = &self.per_rank[rank as usize];
        let n = r.starts.partition_point(|&s| s < to);
        n > 0 && r.max_end[n - 1] > from
    }

    /// Some range of `rank` has `start <= t < end`.
    pub(crate) fn covers_point(&self, rank: u32, t: Instant) -> bool {
        let r = &self.per_rank[rank as usize];
        let n = r.starts.partition_point(|&s| s <= t);
        n > 0 && r.max_end[n - 1] > t
    }
}

/// The ranks that reported an instantaneous sample at each instant, best first.
#[derive(Debug, Default)]
pub(crate) struct InstantIndex {
    ranks_at: HashMap<Instant, Vec<u32>>,
}

impl InstantIndex {
    pub(crate) fn new(instants: impl IntoIterator<Item = (Instant, u32)>) -> Self {
        let mut ranks_at: HashMap<Instant, Vec<u32>> = HashMap::new();
        for (t, rank) in instants {
            ranks_at.entry(t).or_default().push(rank);
        }
        for ranks in ranks_at.values_mut() {
            ranks.sort_unstable();
            ranks.dedup();
        }
        InstantIndex { ranks_at }
    }

    /// The ranks with an instantaneous sample at `t`, best first.
    pub(crate) fn ranks_at(&self, t: Instant) -> &[u32] {
        self.ranks_at.get(&t).map_or(&[], Vec::as_slice)
    }

    /// Some rank strictly better than `rank` has an instantaneous sample at `t`.
    pub(crate) fn outranked_at(&self, t: Instant, rank: u32) -> bool {
        self.ranks_at(t).first().is_some_and(|&best| best < rank)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn m(minute: u32) -> Instant {
        Utc.with_ymd_and_hms(2026, 5, 4, 10, minute, 0).unwrap()
    }

    #[test]
    fn union_merges_touching_and_overlapping_ranges() {
        let mut u = IntervalUnion::default();
        u.insert(m(0), m(5));
        u.insert(m(5), m(10));
        u.insert(m(20), m(30));
        u.insert(m(8), m(8)); // empty: ignored
        assert!(u.covers(m(4), m(6)));
        assert!(u.covers(m(0), m(10)));
        assert!(!u.covers(m(9), m(21)));
        u.insert(m(9), m(21));
        assert!(u.covers(m(0), m(30)));
        assert_eq!(u.spans.len(), 1);
        assert!(u.contains(m(29)));
        assert!(!u.contains(m(30)));
    }

    #[test]
    fn union_insert_swallows_several_spans() {
        let mut u = IntervalUnion::default();
        for k in 0..5 {
            u.insert(m(10 * k + 1), m(10 * k + 2));
        }
        u.insert(m(0), m(59));
        assert_eq!(u.spans.len(), 1);
        assert!(u.covers(m(0), m(59)));
    }

    #[test]
    fn range_index_overlap_and_point_queries() {
        let idx = RangeIndex::new(2, [(0, m(0), m(30)), (0, m(5), m(10)), (1, m(40), m(50))]);
        assert!(idx.overlaps(0, m(20), m(40)));
        assert!(!idx.overlaps(0, m(30), m(40)));
        assert!(!idx.overlaps(1, m(30), m(40)));
        assert!(idx.overlaps(1, m(30), m(41)));
        assert!(idx.covers_point(0, m(0)));
        assert!(!idx.covers_point(0, m(30)));
        assert!(idx.covers_point(1, m(49)));
    }

    #[test]
    fn instant_index_best_rank() {
        let idx = InstantIndex::new([(m(1), 2), (m(1), 1), (m(1), 2), (m(3), 0)]);
        assert_eq!(idx.ranks_at(m(1)), &[1, 2]);
        assert!(idx.outranked_at(m(1), 2));
        assert!(!idx.outranked_at(m(1), 1));
        assert!(!idx.outranked_at(m(2), 5));
    }
}
