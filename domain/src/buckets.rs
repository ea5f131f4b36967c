//! Time-zone-aware buckets: which hour, day, ISO week and month of the user's zone an instant
//! belongs to, and how a time range splits over them.
//!
//! - hour: the local wall-clock time, with the UTC offset in effect at the instant, truncated
//!   to the hour and converted back with that same offset. A repeated local hour (DST
//!   fall-back) is two buckets, a skipped one is none, and in +05:30 zones hours start at hh:30Z.
//! - day, week (ISO, from Monday), month: the local calendar date decides; a bucket starts at
//!   the earliest instant of its first local date (midnight, or the end of the DST gap when
//!   midnight does not exist that day).
//!
//! Bucket membership of an instant is always [`bucket_start`]; a range is split where that
//! changes, measured in absolute time. Between offset changes that happens at local
//! boundaries; at an offset change it is found by bisection. (Two offset changes inside one
//! candidate segment that cancel out, as no current zone does within a month, would be missed.)

use std::collections::BTreeMap;

use chrono::{
    DateTime, Datelike, Days, FixedOffset, LocalResult, Months, NaiveDate, NaiveDateTime,
    NaiveTime, Offset, TimeDelta, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::time::seconds;

type Instant = DateTime<Utc>;

/// An aggregation period. Serialized lowercase (`"hour"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Hour,
    Day,
    Week,
    Month,
}

impl Period {
    pub const ALL: [Period; 4] = [Period::Hour, Period::Day, Period::Week, Period::Month];

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Hour => "hour",
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }
}

/// A period name that is not `hour`, `day`, `week` or `month`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown period \"{name}\"; known periods: hour, day, week, month")]
pub struct UnknownPeriod {
    pub name: String,
}

impl std::str::FromStr for Period {
    type Err = UnknownPeriod;

    /// Exact, lower-case match: the spelling of the API, the events and the tables.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Period::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPeriod { name: s.to_owned() })
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where `[from, to)` of a split range falls: in the bucket starting at `period_start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketSpan {
    pub period_start: Instant,
    pub from: Instant,
    pub to: Instant,
}

/// The start of the local date `date` in `tz`, which is the start of its day bucket: local
/// midnight, or the first instant of the day where a DST gap swallows midnight. Every "start
/// of a local day" (query parameters, day ticks, buckets) is this one.
pub fn day_start(date: NaiveDate, tz: Tz) -> Instant {
    start_of_local_date(date, tz)
}

/// The start of the bucket of `period` that contains `instant`, in zone `tz`.
pub fn bucket_start(period: Period, instant: Instant, tz: Tz) -> Instant {
    let offset = offset_at(tz, instant);
    let local = instant.naive_utc() + offset;
    match period {
        Period::Hour => to_utc(truncate_to_hour(local), offset),
        Period::Day => start_of_local_date(local.date(), tz),
        Period::Week => start_of_local_date(monday_of(local.date()), tz),
        Period::Month => start_of_local_date(first_of_month(local.date()), tz),
    }
}

/// The start of the bucket that follows the one containing `instant`.
pub fn next_bucket_start(period: Period, instant: Instant, tz: Tz) -> Instant {
    let current = bucket_start(period, instant, tz);
    let mut cursor = instant;
    loop {
        cursor = segment_end(period, cursor, tz);
        let next = bucket_start(period, cursor, tz);
        if next != current {
            return next;
        }
    }
}

/// Splits `[from, to)` into the parts lying in each bucket, in time order. Empty for `from >= to`.
pub fn split_range(period: Period, from: Instant, to: Instant, tz: Tz) -> Vec<BucketSpan> {
    let mut spans = Vec::new();
    Bucketer::new(period, tz).split(from, to, |span| spans.push(span));
    spans
}

/// Splits `amount`, spread evenly over `[from, to)` in absolute time, over the buckets.
/// An instant (`from == to`) puts all of it in the bucket containing `from`.
pub fn split_amount(
    period: Period,
    from: Instant,
    to: Instant,
    amount: f64,
    tz: Tz,
) -> Vec<(Instant, f64)> {
    let mut shares = Vec::new();
    Bucketer::new(period, tz)
        .split_amount(from, to, amount, |start, share| shares.push((start, share)));
    shares
}

/// Bucket lookups for one period and zone, remembering the stretches of time already resolved
/// so that many samples in the same buckets cost one map lookup each instead of several
/// time-zone computations.
#[derive(Debug)]
pub struct Bucketer {
    period: Period,
    tz: Tz,
    /// `from -> (to, bucket start)`: every instant in `[from, to)` belongs to that bucket.
    known: BTreeMap<Instant, (Instant, Instant)>,
}

impl Bucketer {
    pub fn new(period: Period, tz: Tz) -> Self {
        Bucketer {
            period,
            tz,
            known: BTreeMap::new(),
        }
    }

    /// Same as [`bucket_start`].
    pub fn bucket_start(&mut self, instant: Instant) -> Instant {
        self.stretch(instant).0
    }

    /// Calls `f` with the part of `[from, to)` in each bucket, in time order; consecutive parts
    /// in one bucket are reported as one. Nothing for `from >= to`.
    pub fn split(&mut self, from: Instant, to: Instant, mut f: impl FnMut(BucketSpan)) {
        let mut pending: Option<BucketSpan> = None;
        let mut cursor = from;
        while cursor < to {
            let (period_start, end) = self.stretch(cursor);
            let end = end.min(to);
            match pending.as_mut() {
                Some(span) if span.period_start == period_start => span.to = end,
                _ => {
                    if let Some(span) = pending.take() {
                        f(span);
                    }
                    pending = Some(BucketSpan {
                        period_start,
                        from: cursor,
                        to: end,
                    });
                }
            }
            cursor = end;
        }
        if let Some(span) = pending {
            f(span);
        }
    }

    /// Calls `f(bucket start, share)` for `amount` spread evenly over `[from, to)`; an instant
    /// puts all of it in its bucket.
    pub fn split_amount(
        &mut self,
        from: Instant,
        to: Instant,
        amount: f64,
        mut f: impl FnMut(Instant, f64),
    ) {
        self.split_amount_spans(from, to, amount, |span, share| f(span.period_start, share));
    }

    /// [`Bucketer::split_amount`] that also reports the part of `[from, to)` each share
    /// covers; an instant is one empty span (`from == to`) with all of `amount`.
    pub fn split_amount_spans(
        &mut self,
        from: Instant,
        to: Instant,
        amount: f64,
        mut f: impl FnMut(BucketSpan, f64),
    ) {
        if from >= to {
            let period_start = self.bucket_start(from);
            let span = BucketSpan {
                period_start,
                from,
                to: from,
            };
            f(span, amount);
            return;
        }
        let total = seconds(to - from);
        self.split(from, to, |span| {
            f(span, amount * (seconds(span.to - span.from) / total))
        });
    }

    /// The bucket of `instant` and the end of the stretch around it that stays in that bucket.
    fn stretch(&mut self, instant: Instant) -> (Instant, Instant) {
        if let Some((_, &(to, start))) = self.known.range(..=instant).next_back() {
            if instant < to {
                return (start, to);
            }
        }
        let (period, tz) = (self.period, self.tz);
        let start = bucket_start(period, instant, tz);
        let end = segment_end(period, instant, tz);
        // Without an offset change since the bucket start, the whole stretch from there is
        // in the bucket; otherwise remember only from `instant` on.
        let from = if start <= instant && offset_at(tz, start) == offset_at(tz, instant) {
            start
        } else {
            instant
        };
        self.known.insert(from, (end, start));
        (start, end)
    }
}

fn offset_at(tz: Tz, instant: Instant) -> FixedOffset {
    tz.offset_from_utc_datetime(&instant.naive_utc()).fix()
}

fn to_utc(local: NaiveDateTime, offset: FixedOffset) -> Instant {
    (local - offset).and_utc()
}

fn truncate_to_hour(local: NaiveDateTime) -> NaiveDateTime {
    local
        .date()
        .and_time(NaiveTime::from_hms_opt(local.hour(), 0, 0).expect("valid hour"))
}

fn monday_of(date: NaiveDate) -> NaiveDate {
    date - Days::new(u64::from(date.weekday().num_days_from_monday()))
}

fn first_of_month(date: NaiveDate) -> NaiveDate {
    date.with_day(1).expect("every month has a 1st")
}

/// The earliest instant whose local date in `tz` is `date`.
fn start_of_local_date(date: NaiveDate, tz: Tz) -> Instant {
    let midnight = date.and_time(NaiveTime::MIN);
    match tz.from_local_datetime(&midnight) {
        LocalResult::Single(t) => t.to_utc(),
        LocalResult::Ambiguous(a, b) => a.to_utc().min(b.to_utc()),
        LocalResult::None => {
            // Midnight falls in a DST gap: bisect for the first instant of the date. Offsets
            // are within ±26 h, so the local date is before `date` at `lo` and not before at `hi`.
            let is_on_or_after = |t: Instant| t.with_timezone(&tz).date_naive() >= date;
            let (mut lo, mut hi) = (
                midnight.and_utc() - TimeDelta::hours(26),
                midnight.and_utc() + TimeDelta::hours(26),
            );
            bisect(&mut lo, &mut hi, is_on_or_after);
            hi
        }
    }
}

/// Narrows `(lo, hi]` to the first instant where `pred` holds, to the nanosecond, given
/// `!pred(lo)`, `pred(hi)` and `pred` monotone in between.
fn bisect(lo: &mut Instant, hi: &mut Instant, pred: impl Fn(Instant) -> bool) {
    while *hi - *lo > TimeDelta::nanoseconds(1) {
        let mid = *lo + (*hi - *lo) / 2;
        if pred(mid) {
            *hi = mid;
        } else {
            *lo = mid;
        }
    }
}

/// The first instant after `instant` where its bucket may change: the next local boundary of
/// `period` under the current offset, or the next offset change if that comes first.
fn segment_end(period: Period, instant: Instant, tz: Tz) -> Instant {
    let offset = offset_at(tz, instant);
    let local = instant.naive_utc() + offset;
    let boundary = match period {
        Period::Hour => truncate_to_hour(local) + TimeDelta::hours(1),
        Period::Day => (local.date() + Days::new(1)).and_time(NaiveTime::MIN),
        Period::Week => (monday_of(local.date()) + Days::new(7)).and_time(NaiveTime::MIN),
        Period::Month => (first_of_month(local.date()) + Months::new(1)).and_time(NaiveTime::MIN),
    };
    let end = to_utc(boundary, offset);
    let mut last = end - TimeDelta::nanoseconds(1);
    if offset_at(tz, last) == offset {
        return end;
    }
    let mut lo = instant;
    bisect(&mut lo, &mut last, |t| offset_at(tz, t) != offset);
    last
}

#[cfg(test)]
#[path = "buckets_tests.rs"]
mod tests;
