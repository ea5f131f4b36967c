//! One partition's rows from two sources, both in key order, into one ordered stream without
//! duplicates:
//!
//! - the **source**: the hot tier's rows of the month (the database), always authoritative;
//! - the **archived** rows: what the partition's files held, kept only where the hot tier no
//!   longer has the rows, the *cold* time ranges (chunks a retention policy dropped after the
//!   month was archived). Everywhere else the database has every row, so an archived row
//!   missing from it was deleted (a replaced or deleted sample) and goes.
//!
//! A key in both comes from the source (late corrections win). Rows of erased users are
//! dropped from both. The merge is driven by its caller: while [`Merger::wants`] names a side,
//! feed that side's next batch (or `None` at its end), then take rows with [`Merger::take`].

use std::collections::{HashSet, VecDeque};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{ArchiveError, Record};

/// One of the two inputs of a merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The partition's existing files.
    Archived,
    /// The database.
    Source,
}

/// Which rows survive a merge.
#[derive(Debug, Clone, Default)]
pub struct Keep {
    /// Users whose rows are dropped from both sides.
    pub erased: HashSet<Uuid>,
    /// `[start, end)` ranges where only the archive still holds rows.
    pub cold: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Keep {
    fn in_cold_range(&self, time: DateTime<Utc>) -> bool {
        self.cold
            .iter()
            .any(|(start, end)| *start <= time && time < *end)
    }

    /// Whether any archived row can survive: without cold ranges the files need no reading.
    pub fn needs_archived_rows(&self) -> bool {
        !self.cold.is_empty()
    }
}

/// What a merge dropped, for the run's report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dropped {
    /// Rows of erased users.
    pub erased: u64,
    /// Archived rows the source replaced (same key) or no longer has in a hot range.
    pub superseded: u64,
}

/// The merge of one partition; see the module's documentation.
pub struct Merger<R: Record> {
    keep: Keep,
    archived: VecDeque<R>,
    source: VecDeque<R>,
    archived_open: bool,
    source_open: bool,
    last_archived: Option<R::Key>,
    last_source: Option<R::Key>,
    dropped: Dropped,
}

impl<R: Record> Merger<R> {
    /// A merge keeping what `keep` says; the archived side is read only if it can keep any
    /// row.
    pub fn new(keep: Keep) -> Self {
        let archived_open = keep.needs_archived_rows();
        Merger {
            keep,
            archived: VecDeque::new(),
            source: VecDeque::new(),
            archived_open,
            source_open: true,
            last_archived: None,
            last_source: None,
            dropped: Dropped::default(),
        }
    }

    /// The side whose next batch is needed before [`Self::take`] can decide, if any.
    pub fn wants(&self) -> Option<Side> {
        if self.archived.is_empty() && self.archived_open {
            Some(Side::Archived)
        } else if self.source.is_empty() && self.source_open {
            Some(Side::Source)
        } else {
            None
        }
    }

    /// Hands over `side`'s next batch, `None` at its end. Rows must come in strictly
    /// increasing key order per side.
    pub fn feed(&mut self, side: Side, batch: Option<Vec<R>>) -> Result<(), ArchiveError> {
        let Some(rows) = batch else {
            match side {
                Side::Archived => self.archived_open = false,
                Side::Source => self.source_open = false,
            }
            return Ok(());
        };
        let (last, name) = match side {
            Side::Archived => (&mut self.last_archived, "archived"),
            Side::Source => (&mut self.last_source, "source"),
        };
        for row in &rows {
            let key = row.key();
            if last.as_ref().is_some_and(|previous| *previous >= key) {
                return Err(ArchiveError::Order { side: name });
            }
            *last = Some(key);
        }
        for row in rows {
            if self.keep.erased.contains(&row.user_id()) {
                self.dropped.erased += 1;
                continue;
            }
            match side {
                Side::Source => self.source.push_back(row),
                Side::Archived if self.keep.in_cold_range(row.time()) => {
                    self.archived.push_back(row)
                }
                Side::Archived => self.dropped.superseded += 1,
            }
        }
        Ok(())
    }

    /// The next row of the merged stream; `None` at its end. Call only when
    /// [`Self::wants`] is `None`.
    pub fn take(&mut self) -> Option<R> {
        debug_assert!(self.wants().is_none(), "a side must be fed first");
        match (self.archived.front(), self.source.front()) {
            (None, None) => None,
            (Some(_), None) => self.archived.pop_front(),
            (None, Some(_)) => self.source.pop_front(),
            (Some(archived), Some(source)) => match archived.key().cmp(&source.key()) {
                std::cmp::Ordering::Less => self.archived.pop_front(),
                std::cmp::Ordering::Greater => self.source.pop_front(),
                std::cmp::Ordering::Equal => {
                    self.archived.pop_front();
                    self.dropped.superseded += 1;
                    self.source.pop_front()
                }
            },
        }
    }

    /// What was dropped so far.
    pub fn dropped(&self) -> Dropped {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::fixtures::sample;
    use crate::SampleRecord;
    use chrono::TimeZone;

    /// Runs a merge over in-memory batches of two rows.
    fn merge(
        keep: Keep,
        archived: Vec<SampleRecord>,
        source: Vec<SampleRecord>,
    ) -> Vec<SampleRecord> {
        let mut merger = Merger::new(keep);
        let mut archived = archived
            .chunks(2)
            .map(<[_]>::to_vec)
            .collect::<VecDeque<_>>();
        let mut source = source.chunks(2).map(<[_]>::to_vec).collect::<VecDeque<_>>();
        let mut out = Vec::new();
        loop {
            while let Some(side) = merger.wants() {
                let batch = match side {
                    Side::Archived => archived.pop_front(),
                    Side::Source => source.pop_front(),
                };
                merger.feed(side, batch).unwrap();
            }
            match merger.take() {
                Some(row) => out.push(row),
                None => return out,
            }
        }
    }

    fn whole_month() -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        vec![(
            Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2024, 4, 1, 0, 0, 0).unwrap(),
        )]
    }

    #[test]
    fn without_cold_ranges_the_source_alone_is_the_month() {
        let archived = vec![sample(1, 0), sample(1, 1), sample(1, 2)];
        let source = vec![sample(1, 1), sample(1, 3)];
        assert_eq!(merge(Keep::default(), archived, source.clone()), source);
    }

    #[test]
    fn in_cold_ranges_archived_rows_stay_and_late_rows_join_them_once() {
        let keep = Keep {
            cold: whole_month(),
            ..Keep::default()
        };
        let archived = vec![sample(1, 0), sample(1, 2), sample(2, 1)];
        let mut changed = sample(1, 2);
        changed.value = 99.0;
        let source = vec![sample(1, 1), changed.clone(), sample(3, 0)];
        let merged = merge(keep, archived, source);
        assert_eq!(
            merged,
            vec![
                sample(1, 0),
                sample(1, 1),
                changed,
                sample(2, 1),
                sample(3, 0)
            ]
        );
    }

    #[test]
    fn archived_rows_outside_the_cold_ranges_go() {
        // Only the first minutes are cold: minute 5 was in a chunk still hot, and the
        // database no longer has it (deleted).
        let keep = Keep {
            cold: vec![(
                Utc.with_ymd_and_hms(2024, 3, 1, 8, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2024, 3, 1, 8, 3, 0).unwrap(),
            )],
            ..Keep::default()
        };
        let merged = merge(keep, vec![sample(1, 0), sample(1, 5)], vec![sample(1, 6)]);
        assert_eq!(merged, vec![sample(1, 0), sample(1, 6)]);
    }

    #[test]
    fn erased_users_leave_both_sides() {
        let keep = Keep {
            erased: [Uuid::from_u128(1)].into(),
            cold: whole_month(),
        };
        let mut merger = Merger::new(keep.clone());
        merger
            .feed(Side::Archived, Some(vec![sample(1, 0), sample(2, 0)]))
            .unwrap();
        merger.feed(Side::Source, Some(vec![sample(1, 1)])).unwrap();
        assert_eq!(merger.dropped().erased, 2);
        let merged = merge(
            keep,
            vec![sample(1, 0), sample(2, 0)],
            vec![sample(1, 1), sample(2, 3)],
        );
        assert_eq!(merged, vec![sample(2, 0), sample(2, 3)]);
    }

    #[test]
    fn rows_out_of_order_are_refused() {
        let mut merger = Merger::<SampleRecord>::new(Keep::default());
        let error = merger
            .feed(Side::Source, Some(vec![sample(1, 2), sample(1, 1)]))
            .unwrap_err();
        assert!(matches!(error, ArchiveError::Order { side: "source" }));
        let mut merger = Merger::<SampleRecord>::new(Keep::default());
        merger.feed(Side::Source, Some(vec![sample(1, 2)])).unwrap();
        assert!(merger.feed(Side::Source, Some(vec![sample(1, 2)])).is_err());
    }
}
