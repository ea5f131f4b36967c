//! How long each kind of data is kept, as part of what the projections are.
//!
//! Retention is not a clean-up job bolted on the side: "projections are a pure function of the
//! log" must hold after it too. So the same horizons are applied in three places from this one
//! module: the processors never write what lies beyond a horizon (live, or replaying the
//! topics), `healthpipe retention` deletes what crossed one since, and a replay into a new
//! schema copies the aggregates that only the old schema still holds (the buckets older than
//! the raw samples, whose samples are gone from the database and, in time, from the log).
//!
//! Horizons move once a day, at midnight UTC, so every process that evaluates them on the
//! same day agrees on them exactly.
//!
//! | data | kept | rule |
//! |---|---|---|
//! | raw samples (and their index entries) | 7 years (`RETENTION_SAMPLE_YEARS`) | a sample ending on or before the horizon is gone |
//! | hourly aggregates | 2 years | an hour bucket starting before the horizon is gone |
//! | daily, weekly, monthly aggregates | for ever | buckets starting before the raw-sample horizon are frozen: never recomputed |
//! | insights, acknowledgements | 2 years | an insight last updated (acknowledged) before the horizon is gone |
//! | the insights processor's input rows | 2 years and its look-back | so rules at the horizon see what they saw live |
//! | share grants and their access records | 30 days after they end | ended = expired or revoked |

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Months, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::buckets::{bucket_start, next_bucket_start, Period};

/// Years raw samples are kept by default (the design's seven-year record).
pub const SAMPLE_YEARS: u32 = 7;
/// Most years of raw samples a deployment may keep.
pub const MAX_SAMPLE_YEARS: u32 = 100;

/// The years of raw samples this process keeps: [`SAMPLE_YEARS`] unless set at start-up.
///
/// A process-wide setting rather than a parameter, because every horizon of the process must
/// agree with it (the gateway's validation, the processors' plans, retention, replay, the
/// archive): it is set once, from `RETENTION_SAMPLE_YEARS`, before any of them runs, and every
/// process of a deployment must be given the same value.
static KEPT_SAMPLE_YEARS: AtomicU32 = AtomicU32::new(SAMPLE_YEARS);

/// Sets the years of raw samples kept (clamped to `1..=MAX_SAMPLE_YEARS`), for this process.
pub fn keep_samples_for_years(years: u32) {
    KEPT_SAMPLE_YEARS.store(years.clamp(1, MAX_SAMPLE_YEARS), Ordering::Relaxed);
}

/// The years of raw samples this process keeps.
pub fn sample_years() -> u32 {
    KEPT_SAMPLE_YEARS.load(Ordering::Relaxed)
}
/// Years hourly aggregates and insights are kept.
pub const HOURLY_YEARS: u32 = 2;
/// Days an ended (expired or revoked) share grant stays in the owner's list, with its access
/// records.
pub const ENDED_SHARE_DAYS: i64 = 30;
/// Extra days of the insights processor's input rows kept beyond the insights' horizon: the
/// rules look back this far from the day they evaluate (see the processor's `LOOKBACK_DAYS`),
/// with a margin.
pub const INSIGHT_INPUT_MARGIN_DAYS: i64 = 60;

/// The instants before which each kind of data is gone, for one UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Horizons {
    /// The UTC day they were computed for.
    pub day: NaiveDate,
    /// Samples ending at or before this instant are gone; buckets (day, week, month) starting
    /// before it are frozen.
    pub samples: DateTime<Utc>,
    /// Hour buckets starting before this instant are gone.
    pub hourly: DateTime<Utc>,
    /// Insights last updated before this instant are gone, and acknowledgements given before it.
    pub insights: DateTime<Utc>,
    /// The insights processor's input rows of buckets starting before this instant are gone.
    pub insight_inputs: DateTime<Utc>,
    /// Share grants that ended (expired or were revoked) before this instant are gone.
    pub ended_shares: DateTime<Utc>,
}

impl Horizons {
    /// The horizons on the UTC day `day`.
    pub fn on(day: NaiveDate) -> Horizons {
        let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
        let years_before = |years: u32| {
            midnight
                .checked_sub_months(Months::new(12 * years))
                .expect("within chrono's range")
        };
        let insights = years_before(HOURLY_YEARS);
        Horizons {
            day,
            samples: years_before(sample_years()),
            hourly: insights,
            insights,
            insight_inputs: insights - TimeDelta::days(INSIGHT_INPUT_MARGIN_DAYS),
            ended_shares: midnight - TimeDelta::days(ENDED_SHARE_DAYS),
        }
    }

    /// The horizons of the current UTC day.
    pub fn today() -> Horizons {
        Horizons::on(Utc::now().date_naive())
    }

    /// The horizons of `day`, or of today when none is given (the processors' and commands'
    /// `RETENTION_AS_OF`).
    pub fn as_of(day: Option<NaiveDate>) -> Horizons {
        day.map_or_else(Horizons::today, Horizons::on)
    }

    /// Whether a sample ending at `end` is kept.
    pub fn keeps_sample(&self, end: DateTime<Utc>) -> bool {
        end > self.samples
    }

    /// The first bucket of `period` in `tz` that may still be written: hour buckets from the
    /// hourly horizon on, the others from the raw-sample horizon on (earlier ones are gone or
    /// frozen).
    pub fn first_open_bucket(&self, period: Period, tz: Tz) -> DateTime<Utc> {
        let horizon = match period {
            Period::Hour => self.hourly,
            Period::Day | Period::Week | Period::Month => self.samples,
        };
        let start = bucket_start(period, horizon, tz);
        if start == horizon {
            start
        } else {
            next_bucket_start(period, horizon, tz)
        }
    }

    /// Whether a share grant that ends at `ended` (its expiry, or its revocation if earlier)
    /// is kept.
    pub fn keeps_share(&self, ended: DateTime<Utc>) -> bool {
        ended >= self.ended_shares
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn horizons() -> Horizons {
        Horizons::on(NaiveDate::from_ymd_opt(2026, 12, 5).unwrap())
    }

    #[test]
    fn horizons_are_calendar_years_and_days_before_midnight_utc() {
        let h = horizons();
        assert_eq!(
            h.samples,
            Utc.with_ymd_and_hms(2019, 12, 5, 0, 0, 0).unwrap()
        );
        assert_eq!(
            h.hourly,
            Utc.with_ymd_and_hms(2024, 12, 5, 0, 0, 0).unwrap()
        );
        assert_eq!(h.insights, h.hourly);
        assert_eq!(h.insight_inputs, h.insights - TimeDelta::days(60));
        assert_eq!(
            h.ended_shares,
            Utc.with_ymd_and_hms(2026, 11, 5, 0, 0, 0).unwrap()
        );
        assert_eq!(
            Horizons::on(h.day),
            h,
            "the same day gives the same horizons"
        );
    }

    #[test]
    fn a_sample_is_kept_while_it_ends_after_the_horizon() {
        let h = horizons();
        assert!(!h.keeps_sample(h.samples));
        assert!(!h.keeps_sample(h.samples - TimeDelta::seconds(1)));
        assert!(h.keeps_sample(h.samples + TimeDelta::seconds(1)));
    }

    #[test]
    fn the_first_open_bucket_starts_at_or_after_the_horizon() {
        let h = horizons();
        // In UTC the horizon is a day start: it opens the day; the month started before it.
        assert_eq!(h.first_open_bucket(Period::Day, Tz::UTC), h.samples);
        assert_eq!(
            h.first_open_bucket(Period::Month, Tz::UTC),
            Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap()
        );
        // 2019-12-05 00:00Z is 2019-12-05 09:00 in Tokyo: that local day started before it.
        let tokyo = chrono_tz::Asia::Tokyo;
        let day = h.first_open_bucket(Period::Day, tokyo);
        assert_eq!(day, Utc.with_ymd_and_hms(2019, 12, 5, 15, 0, 0).unwrap());
        // Hours open at the hourly horizon; in +05:30 hours start at hh:30Z.
        assert_eq!(h.first_open_bucket(Period::Hour, Tz::UTC), h.hourly);
        assert_eq!(
            h.first_open_bucket(Period::Hour, chrono_tz::Asia::Kolkata),
            h.hourly + TimeDelta::minutes(30)
        );
    }

    #[test]
    fn a_share_is_kept_until_thirty_days_after_it_ended() {
        let h = horizons();
        assert!(h.keeps_share(h.ended_shares));
        assert!(!h.keeps_share(h.ended_shares - TimeDelta::seconds(1)));
    }
}
