//! Where an archived month's files go, and which months are old enough to go there.
//!
//! A partition is one (relation, sample type, calendar month in UTC): its folder is
//! `<relation>/sample_type=<type>/month=<YYYY-MM>/`, the Hive layout DuckDB
//! (`hive_partitioning`) and pyarrow (`partitioning="hive"`) turn back into two columns.
//! The partition columns are not repeated inside the files. A part file is
//! `part-<part, 5 digits>-<write id>.parquet`; every write of a month has a new write id, so a
//! rewrite never overwrites a file a reader may be reading: the old parts are deleted once
//! the new ones are recorded.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeDelta, Utc};
use object_store::path::Path;

use crate::ArchiveError;

/// A calendar month in UTC: the unit the archive writes, skips and rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    first: NaiveDate,
}

impl Month {
    /// The month `time` falls in.
    pub fn of(time: DateTime<Utc>) -> Month {
        let day = time.date_naive();
        Month {
            first: day.with_day(1).expect("every month has a first day"),
        }
    }

    /// The month starting on `first`; `None` unless it is the first day of a month.
    pub fn starting(first: NaiveDate) -> Option<Month> {
        (first.day() == 1).then_some(Month { first })
    }

    /// Its first day (how the manifest stores it).
    pub fn first_day(self) -> NaiveDate {
        self.first
    }

    /// Its first instant.
    pub fn start(self) -> DateTime<Utc> {
        self.first
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
    }

    /// The first instant after it (the next month's start).
    pub fn end(self) -> DateTime<Utc> {
        self.next().start()
    }

    pub fn next(self) -> Month {
        Month {
            first: self.first + Months::new(1),
        }
    }

    /// The months `[start, end)` touches, in order (a chunk's range, say).
    pub fn overlapping(start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<Month> {
        let mut months = Vec::new();
        let mut month = Month::of(start);
        while month.start() < end {
            months.push(month);
            month = month.next();
        }
        months
    }
}

impl fmt::Display for Month {
    /// `YYYY-MM`, the partition value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.first.year(), self.first.month())
    }
}

impl FromStr for Month {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
            .ok()
            .filter(|_| text.len() == 7)
            .map(|first| Month { first })
            .ok_or_else(|| format!("{text:?} is not a month (YYYY-MM)"))
    }
}

/// Whether `month` ended more than `after_days` days before `now`: old enough for the cold
/// tier (`ARCHIVE_AFTER_DAYS`).
pub fn is_archivable(month: Month, now: DateTime<Utc>, after_days: u32) -> bool {
    month.end() < now - TimeDelta::days(after_days.into())
}

/// The instant before which a month must have ended to be archivable.
pub fn archivable_before(now: DateTime<Utc>, after_days: u32) -> DateTime<Utc> {
    now - TimeDelta::days(after_days.into())
}

/// The folder of one partition under the archive's root.
pub fn partition(relation: &str, sample_type: &str, month: Month) -> Result<Path, ArchiveError> {
    let plain = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    if !plain(relation) {
        return Err(ArchiveError::Partition(relation.to_string()));
    }
    if !plain(sample_type) {
        return Err(ArchiveError::Partition(sample_type.to_string()));
    }
    Ok(Path::from_iter([
        relation.to_string(),
        format!("sample_type={sample_type}"),
        format!("month={month}"),
    ]))
}

/// The `part`-th file of a write `write_id` into `partition`.
pub fn part_path(partition: &Path, part: u32, write_id: &str) -> Path {
    partition
        .clone()
        .join(format!("part-{part:05}-{write_id}.parquet"))
}

/// A new write id: the time of the write and a random suffix, so two writes of a month (even
/// by two runs at once) never share a file name.
pub fn write_id(now: DateTime<Utc>) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{}-{}", now.format("%Y%m%dT%H%M%SZ"), &random[..8])
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
    }

    #[test]
    fn months_run_from_their_first_instant_to_the_next_months() {
        let feb = Month::of(Utc.with_ymd_and_hms(2024, 2, 29, 23, 59, 59).unwrap());
        assert_eq!(feb.to_string(), "2024-02");
        assert_eq!(feb.start(), at(2024, 2, 1));
        assert_eq!(feb.end(), at(2024, 3, 1));
        assert_eq!(Month::of(at(2024, 12, 31)).end(), at(2025, 1, 1));
        assert_eq!("2024-02".parse::<Month>(), Ok(feb));
        assert!("2024-2".parse::<Month>().is_err());
        assert!("2024-13".parse::<Month>().is_err());
        assert_eq!(Month::starting(feb.first_day()), Some(feb));
        assert_eq!(
            Month::starting(NaiveDate::from_ymd_opt(2024, 2, 2).unwrap()),
            None
        );
    }

    #[test]
    fn a_range_overlaps_the_months_it_touches_and_not_the_one_it_ends_at() {
        let months = Month::overlapping(at(2024, 1, 29), at(2024, 3, 1));
        let names: Vec<String> = months.iter().map(Month::to_string).collect();
        assert_eq!(names, ["2024-01", "2024-02"]);
        assert!(Month::overlapping(at(2024, 1, 1), at(2024, 1, 1)).is_empty());
    }

    #[test]
    fn a_month_is_archivable_once_it_ended_more_than_the_given_days_ago() {
        let march = Month::of(at(2024, 3, 10));
        // March ends on April 1st; 90 days later is June 30th.
        assert!(!is_archivable(march, at(2024, 6, 30), 90));
        assert!(is_archivable(
            march,
            at(2024, 6, 30) + TimeDelta::seconds(1),
            90
        ));
        assert!(!is_archivable(march, at(2024, 3, 31), 0));
        assert!(is_archivable(march, at(2024, 4, 2), 0));
    }

    #[test]
    fn partitions_are_hive_folders_and_refuse_values_that_are_not_plain() {
        let month = Month::of(at(2019, 1, 5));
        let folder = partition("samples", "STEPS", month).unwrap();
        assert_eq!(folder.as_ref(), "samples/sample_type=STEPS/month=2019-01");
        let file = part_path(&folder, 3, "20261205T000000Z-abcdef01");
        assert_eq!(
            file.as_ref(),
            "samples/sample_type=STEPS/month=2019-01/part-00003-20261205T000000Z-abcdef01.parquet"
        );
        assert!(partition("samples", "../x", month).is_err());
        assert!(partition("samples", "", month).is_err());
        assert!(partition("samples/x", "STEPS", month).is_err());
        assert_ne!(write_id(at(2026, 1, 1)), write_id(at(2026, 1, 1)));
    }
}
