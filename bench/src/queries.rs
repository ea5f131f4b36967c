//! Query latency (figures 6 and 10): what a client showing a user's dashboard asks the query
//! API — a year of daily aggregates, one local day of raw samples, the summary of one date and
//! the insights list — against a `SELECT 1` round trip to the same database.
//!
//! The day of samples is asked the way a day view would: the whole local day by date, one
//! type, `limit=1000` (the most the endpoint allows), so that a day fits in one page where it
//! can; only the first page is timed, and how often a day needed more is reported.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use healthpipe_storage::sql::query_one;
use serde_json::Value;

use super::env::connect;
use super::population::Member;

healthpipe_storage::statement!(SELECT_ONE, "select_one");

/// Whom to ask for what.
#[derive(Debug, Clone)]
pub struct Targets {
    pub gateway: String,
    pub database_url: String,
    /// Users with a long history, and the last day of it (a year up to it is asked for).
    pub year: Vec<(Member, NaiveDate)>,
    /// Users and local dates (in the user's zone) with samples: the day of samples and the
    /// summary ask for these.
    pub days: Vec<(Member, NaiveDate)>,
}

/// Latencies in milliseconds, and what the answers held (means over all answers).
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    pub year_ms: Vec<f64>,
    pub day_ms: Vec<f64>,
    pub summary_ms: Vec<f64>,
    pub insights_ms: Vec<f64>,
    pub select1_ms: Vec<f64>,
    pub year_rows: f64,
    pub day_rows: f64,
    /// Share of day-of-samples answers with a `next_cursor`: days that did not fit one page.
    pub day_more: f64,
    pub summary_types: f64,
    pub insights: f64,
}

/// The `limit` of the day-of-samples request (the endpoint's maximum).
pub const DAY_PAGE: usize = 1000;

const TYPES: [&str; 2] = ["HEART_RATE", "STEPS"];

/// Totals of one client, turned into means once every client is done.
#[derive(Debug, Default)]
struct Counts {
    year_rows: usize,
    day_rows: usize,
    day_more: usize,
    summary_types: usize,
    insights: usize,
}

/// Runs `clients` query loops for `duration`, each asking every 100 ms for a year of days, a
/// day of samples, a summary, the insights and `SELECT 1`.
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
            let mut out = Latencies::default();
            let mut counts = Counts::default();
            let base = &targets.gateway;
            let mut i = c;
            // Each client asks its queries every 100 ms (or as soon as the previous answers
            // are in, when they take longer): users querying, not a saturation test.
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while Instant::now() < deadline {
                tick.tick().await;
                let kind = TYPES[i % TYPES.len()];
                let (member, last) = &targets.year[i % targets.year.len()];
                let url = format!(
                    "{base}/api/v1/aggregates?type={kind}&period=day&from={}&to={last}",
                    *last - chrono::Duration::days(364),
                );
                let (ms, body) = get(&http, &url, member).await?;
                out.year_ms.push(ms);
                counts.year_rows += body.as_array().map_or(0, Vec::len);

                // `to` is an inclusive local date: from=D&to=D is the local day D.
                let (member, date) = &targets.days[i % targets.days.len()];
                let url = format!(
                    "{base}/api/v1/samples?type={kind}&from={date}&to={date}&limit={DAY_PAGE}"
                );
                let (ms, body) = get(&http, &url, member).await?;
                out.day_ms.push(ms);
                counts.day_rows += body["samples"].as_array().map_or(0, Vec::len);
                counts.day_more += usize::from(body["next_cursor"].is_string());

                let url = format!("{base}/api/v1/summary?date={date}");
                let (ms, body) = get(&http, &url, member).await?;
                out.summary_ms.push(ms);
                counts.summary_types += body["types"].as_array().map_or(0, Vec::len);

                let (ms, body) = get(&http, &format!("{base}/api/v1/insights"), member).await?;
                out.insights_ms.push(ms);
                counts.insights += body["insights"].as_array().map_or(0, Vec::len);

                let t = Instant::now();
                query_one(&db, SELECT_ONE, &[]).await?;
                out.select1_ms.push(t.elapsed().as_secs_f64() * 1e3);
                i += clients;
            }
            Ok::<_, anyhow::Error>((out, counts))
        }));
    }
    let mut all = Latencies::default();
    let mut counts = Counts::default();
    for task in tasks {
        let (part, c) = task.await??;
        all.year_ms.extend(part.year_ms);
        all.day_ms.extend(part.day_ms);
        all.summary_ms.extend(part.summary_ms);
        all.insights_ms.extend(part.insights_ms);
        all.select1_ms.extend(part.select1_ms);
        counts.year_rows += c.year_rows;
        counts.day_rows += c.day_rows;
        counts.day_more += c.day_more;
        counts.summary_types += c.summary_types;
        counts.insights += c.insights;
    }
    // Every loop asks each query once per turn, so all answers number the same.
    let n = all.year_ms.len().max(1) as f64;
    all.year_rows = counts.year_rows as f64 / n;
    all.day_rows = counts.day_rows as f64 / n;
    all.day_more = counts.day_more as f64 / n;
    all.summary_types = counts.summary_types as f64 / n;
    all.insights = counts.insights as f64 / n;
    Ok(all)
}

/// One GET as `member`: the milliseconds until the whole body was in, and the body. Anything
/// but a 2xx with JSON fails the run: a fast error is not a latency.
async fn get(http: &reqwest::Client, url: &str, member: &Member) -> Result<(f64, Value)> {
    let t = Instant::now();
    let response = http.get(url).bearer_auth(&*member.token).send().await?;
    let status = response.status();
    let body = response.bytes().await?;
    let ms = t.elapsed().as_secs_f64() * 1e3;
    if !status.is_success() {
        bail!(
            "GET {url} answered {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        );
    }
    let body = serde_json::from_slice(&body).with_context(|| format!("GET {url}: not JSON"))?;
    Ok((ms, body))
}
