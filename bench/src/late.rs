//! Figure 8: the cost of late data. Users sync one sample each from a few days ago (a step
//! count the phone uploads late, a heart-rate reading, a weight), one user per sample so each
//! recomputation is caused by exactly one late sample. The processor counts the stored rows
//! it reads back to recompute (`healthpipe_processor_recompute_rows_loaded_total`).
//!
//! Two baselines, both stored samples of the late sample's type and user:
//! - the design's "samples in the buckets it touches": those overlapping any of its hour, day,
//!   ISO week and month buckets (their union, so a sample in several is counted once). This
//!   is the figure's baseline, checked against the target;
//! - a stricter one, the samples in its hour buckets only: the finest buckets, from which its
//!   day, week and month could be rolled up without reading a sample again.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use healthpipe_domain::{bucket_start, next_bucket_start, Period};
use healthpipe_storage::sql::query_one;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::env::{connect, drain, ProcessorCounters, Service};
use super::load::{self, Request};
use super::population::Member;
use crate::realistic::GenSample;

healthpipe_storage::statement!(SAMPLES_IN_RANGE, "samples_in_range");

/// Rows re-read per late sample, and stored samples in the buckets each late sample touches.
#[derive(Debug, Clone, Copy)]
pub struct Late {
    pub rows_per_sample: f64,
    /// In the union of its hour, day, week and month buckets (the design's definition).
    pub touched_samples_per_sample: f64,
    /// In its hour buckets only (the strict reading).
    pub hour_samples_per_sample: f64,
    pub samples: usize,
}

/// Sends one late sample for each of `members` (all with a watch at device 0 and a phone at
/// device 1), dated `day`, and measures what the processor re-reads for them.
#[allow(clippy::too_many_arguments)]
pub async fn round(
    http: &reqwest::Client,
    gateway: &str,
    processor: &mut Service,
    database_url: &str,
    members: &[Member],
    day: NaiveDate,
    seed: u64,
) -> Result<Late> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut samples = Vec::new();
    let mut requests = Vec::new();
    for (i, member) in members.iter().enumerate() {
        let tz = member.timezone;
        let local = day
            .and_hms_opt(rng.random_range(9..20), rng.random_range(0..50), 0)
            .expect("valid time")
            .and_local_timezone(tz)
            .earliest()
            .map(|t| t.with_timezone(&Utc));
        let Some(start) = local else { continue };
        let (sample, device) = match i % 3 {
            0 => (
                GenSample::new(
                    "STEPS",
                    rng.random_range(200..900) as f64,
                    "count",
                    start,
                    start + TimeDelta::minutes(10),
                ),
                1,
            ),
            1 => (
                GenSample::new(
                    "HEART_RATE",
                    rng.random_range(60..100) as f64,
                    "count/min",
                    start,
                    start,
                ),
                0,
            ),
            _ => (GenSample::new("WEIGHT", 71.5, "kg", start, start), 1),
        };
        requests.push(Request {
            path: member.sync_path(device),
            token: member.token.clone(),
            body: super::workload::body(&[sample], tz),
            samples: 1,
        });
        samples.push((member.id, tz, sample));
    }
    let since = ProcessorCounters::read(http, &processor.url).await?;
    load::closed_loop(http, gateway, Arc::new(requests), 16).await?;
    let drained = drain(
        http,
        processor,
        since,
        since.messages + samples.len() as f64,
        Duration::from_secs(300),
    )
    .await?;
    let db = connect(database_url).await?;
    let (mut touched, mut hours) = (0i64, 0i64);
    for (user, tz, s) in &samples {
        let (from, to) = all_buckets(s, *tz);
        let row = query_one(&db, SAMPLES_IN_RANGE, &[user, &s.kind, &from, &to]).await?;
        touched += row.get::<_, i64>(0);
        let (from, to) = touched_range(Period::Hour, s, *tz);
        let row = query_one(&db, SAMPLES_IN_RANGE, &[user, &s.kind, &from, &to]).await?;
        hours += row.get::<_, i64>(0);
    }
    let n = samples.len().max(1) as f64;
    Ok(Late {
        rows_per_sample: drained.rows_loaded / n,
        touched_samples_per_sample: touched as f64 / n,
        hour_samples_per_sample: hours as f64 / n,
        samples: samples.len(),
    })
}

/// The union of the hour, day, week and month buckets the sample touches. Each of them
/// contains the sample's start, so they overlap and their union is one range: from the
/// earliest start to the latest end.
fn all_buckets(s: &GenSample, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let spans =
        [Period::Hour, Period::Day, Period::Week, Period::Month].map(|p| touched_range(p, s, tz));
    let from = spans.iter().map(|r| r.0).min().expect("four periods");
    let to = spans.iter().map(|r| r.1).max().expect("four periods");
    (from, to)
}

/// [start of the first, end of the last) of the `period` buckets the sample touches, as the
/// processor splits it: an instant lies in one bucket, an interval in those that `[start,
/// end)` overlaps (an end exactly on a boundary does not reach into the next bucket).
fn touched_range(period: Period, s: &GenSample, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let last = if s.end > s.start {
        s.end - TimeDelta::microseconds(1)
    } else {
        s.start
    };
    (
        bucket_start(period, s.start, tz),
        next_bucket_start(period, last, tz),
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn steps(from: DateTime<Utc>, to: DateTime<Utc>) -> GenSample {
        GenSample::new("STEPS", 500.0, "count", from, to)
    }

    #[test]
    fn an_interval_ending_on_the_hour_stays_in_its_hour() {
        let at = |h, m| Utc.with_ymd_and_hms(2026, 5, 6, h, m, 0).unwrap();
        let s = steps(at(10, 50), at(11, 0));
        assert_eq!(
            touched_range(Period::Hour, &s, Tz::UTC),
            (at(10, 0), at(11, 0))
        );
        let s = steps(at(10, 50), at(11, 5));
        assert_eq!(
            touched_range(Period::Hour, &s, Tz::UTC),
            (at(10, 0), at(12, 0))
        );
    }

    #[test]
    fn the_union_runs_from_the_earlier_of_week_and_month_to_the_later() {
        // Saturday 2 May 2026: its ISO week starts on Monday 27 April, its month on 1 May.
        let zone: Tz = "Europe/Berlin".parse().unwrap();
        let local = |y, mo, d| zone.with_ymd_and_hms(y, mo, d, 0, 0, 0).unwrap().to_utc();
        let start = zone
            .with_ymd_and_hms(2026, 5, 2, 9, 30, 0)
            .unwrap()
            .to_utc();
        let s = steps(start, start + TimeDelta::minutes(10));
        assert_eq!(
            all_buckets(&s, zone),
            (local(2026, 4, 27), local(2026, 6, 1))
        );
        // Sunday 31 May: its week ends on Monday 1 June, when its month ends too.
        let start = zone
            .with_ymd_and_hms(2026, 5, 31, 9, 30, 0)
            .unwrap()
            .to_utc();
        let s = steps(start, start);
        assert_eq!(
            all_buckets(&s, zone),
            (local(2026, 5, 1), local(2026, 6, 1))
        );
    }
}
