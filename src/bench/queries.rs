//! Query latency (figures 6 and 10): a year of daily aggregates through the query API, and
//! one local day of raw samples, against a `SELECT 1` round trip on the same kind of
//! connection. There is no samples endpoint yet, so the day of samples is read with SQL on a
//! prepared statement, as such an endpoint would.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::env::connect;
use super::population::Member;

/// Whom to ask for what.
#[derive(Debug, Clone)]
pub struct Targets {
    pub gateway: String,
    pub database_url: String,
    /// Users with a long history, and the last day of it (a year up to it is asked for).
    pub year: Vec<(Member, NaiveDate)>,
    /// (user, start, end) of local days with samples.
    pub days: Vec<(Uuid, DateTime<Utc>, DateTime<Utc>)>,
}

/// Latencies in milliseconds.
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    pub year_ms: Vec<f64>,
    pub day_ms: Vec<f64>,
    pub select1_ms: Vec<f64>,
    /// Rows per answer, averaged.
    pub year_rows: f64,
    pub day_rows: f64,
}

const TYPES: [&str; 2] = ["HEART_RATE", "STEPS"];

/// Runs `clients` query loops for `duration`, each asking every 100 ms for a year of days, a
/// day of samples and `SELECT 1`.
pub async fn run(
    http: &reqwest::Client,
    targets: Arc<Targets>,
    clients: usize,
    duration: Duration,
) -> Result<Latencies> {
    if targets.year.is_empty() || targets.days.is_empty() {
        bail!("no query targets");
    }
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, targets) = (http.clone(), targets.clone());
        tasks.push(tokio::spawn(async move {
            let db = connect(&targets.database_url).await?;
            let day_query = db
                .prepare(
                    "SELECT sample_id, device_id, sample_type, value, start_time, end_time FROM samples \
                     WHERE user_id = $1 AND start_time >= $2 AND start_time < $3",
                )
                .await?;
            let one = db.prepare("SELECT 1").await?;
            let mut out = Latencies::default();
            let (mut year_rows, mut day_rows) = (0usize, 0usize);
            let mut i = c;
            // Each client asks its three queries every 100 ms (or as soon as the previous
            // answers are in, when they take longer): users querying, not a saturation test.
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while Instant::now() < deadline {
                tick.tick().await;
                let (member, last) = &targets.year[i % targets.year.len()];
                let url = format!(
                    "{}/api/v1/aggregates?type={}&period=day&from={}&to={last}",
                    targets.gateway,
                    TYPES[i % TYPES.len()],
                    *last - chrono::Duration::days(364),
                );
                let t = Instant::now();
                let response = http.get(&url).bearer_auth(&*member.token).send().await?;
                let status = response.status();
                let body = response.bytes().await?;
                out.year_ms.push(t.elapsed().as_secs_f64() * 1e3);
                if !status.is_success() {
                    bail!("aggregates query answered {status}: {}", String::from_utf8_lossy(&body));
                }
                year_rows += serde_json::from_slice::<Vec<serde_json::Value>>(&body)
                    .map(|rows| rows.len())
                    .unwrap_or(0);

                let (user, from, to) = &targets.days[i % targets.days.len()];
                let t = Instant::now();
                let rows = db.query(&day_query, &[user, from, to]).await?;
                out.day_ms.push(t.elapsed().as_secs_f64() * 1e3);
                day_rows += rows.len();

                let t = Instant::now();
                db.query_one(&one, &[]).await?;
                out.select1_ms.push(t.elapsed().as_secs_f64() * 1e3);
                i += clients;
            }
            let n = out.year_ms.len().max(1) as f64;
            out.year_rows = year_rows as f64 / n;
            out.day_rows = day_rows as f64 / n;
            Ok::<_, anyhow::Error>(out)
        }));
    }
    let mut all = Latencies::default();
    let mut parts = 0.0;
    for task in tasks {
        let part = task.await??;
        all.year_ms.extend(part.year_ms);
        all.day_ms.extend(part.day_ms);
        all.select1_ms.extend(part.select1_ms);
        all.year_rows += part.year_rows;
        all.day_rows += part.day_rows;
        parts += 1.0;
    }
    all.year_rows /= parts;
    all.day_rows /= parts;
    Ok(all)
}
