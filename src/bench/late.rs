//! Figure 8: the cost of late data. Users sync one sample each from a few days ago (a step
//! count the phone uploads late, a heart-rate reading, a weight), one user per sample so each
//! recomputation is caused by exactly one late sample. The processor counts the stored rows
//! it reads back to recompute (`healthpipe_processor_recompute_rows_loaded_total`); the
//! baseline is the number of stored samples in the buckets the late sample lands in: its
//! hour buckets, the finest ones, from which day, week and month could be rolled up.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use healthpipe_domain::{bucket_start, next_bucket_start, Period};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::env::{connect, drain, ProcessorCounters, Service};
use super::load::{self, Request};
use super::population::Member;
use crate::workload::GenSample;

/// Rows re-read per late sample, and stored samples in the buckets each late sample touches.
#[derive(Debug, Clone, Copy)]
pub struct Late {
    pub rows_per_sample: f64,
    pub bucket_samples_per_sample: f64,
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
                late_sample(
                    "STEPS",
                    rng.random_range(200..900) as f64,
                    "count",
                    start,
                    start + TimeDelta::minutes(10),
                ),
                1,
            ),
            1 => (
                late_sample(
                    "HEART_RATE",
                    rng.random_range(60..100) as f64,
                    "count/min",
                    start,
                    start,
                ),
                0,
            ),
            _ => (late_sample("WEIGHT", 71.5, "kg", start, start), 1),
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
    let count = db
        .prepare(
            "SELECT count(*) FROM samples WHERE user_id = $1 AND sample_type = $2 \
             AND start_time < $4 AND (end_time > $3 OR start_time >= $3)",
        )
        .await?;
    let mut in_buckets = 0i64;
    for (user, tz, s) in &samples {
        let from: DateTime<Utc> = bucket_start(Period::Hour, s.start, *tz);
        let to: DateTime<Utc> = next_bucket_start(Period::Hour, s.end, *tz);
        let row = db.query_one(&count, &[user, &s.kind, &from, &to]).await?;
        in_buckets += row.get::<_, i64>(0);
    }
    let n = samples.len().max(1) as f64;
    Ok(Late {
        rows_per_sample: drained.rows_loaded / n,
        bucket_samples_per_sample: in_buckets as f64 / n,
        samples: samples.len(),
    })
}

fn late_sample(
    kind: &'static str,
    value: f64,
    unit: &'static str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> GenSample {
    GenSample {
        kind,
        value,
        unit,
        start,
        end,
    }
}
