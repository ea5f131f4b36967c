//! Figure 13: the insights processor under the live load of figure 5. After the freshness
//! curve, an insights processor (`healthpipe process insights`, its own process) starts on
//! the main database and works off everything the run put on its topics so far; then one
//! window of figure 5's load (half the processor's rate) runs with figure 5's freshness probes
//! and with insight probes: each a blood glucose reading above `HIGH_GLUCOSE`'s threshold on
//! a day of its own, the one rule that fires on a single sample, timed from its day's
//! aggregate being visible in the API to its insight being visible there. The processor's
//! applied events per second, its lag when the window ends and its peak memory complete the
//! figure.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use chrono::{NaiveDate, TimeDelta, Utc};
use healthpipe_schemas::Topics;
use healthpipe_storage::pool::Client;
use healthpipe_storage::sql::query_one;
use serde_json::json;

use super::cpu;
use super::env::{connect, scrape, topic_messages, ProcessorCounters, Service};
use super::live::poll;
use super::live_phase::Live;
use super::population::{self, Member};
use super::report::{number, quantile, Check, Figure, Report};

healthpipe_storage::statement!(APPLIED_FROM_TOPIC, "offsets_applied_topic");

/// The window of figure 13.
const WINDOW: Duration = Duration::from_secs(10);

/// An insight probe every this often.
const PROBE_EVERY: Duration = Duration::from_millis(250);

/// Users the insight probes write for: probe k writes for user k mod this, on a day of its own.
const PROBE_USERS: usize = 8;

/// Insight probes that may wait at once; more are skipped. Each polls every 20 ms until its
/// aggregate is visible, however long that takes (the start of what is timed must be as
/// exact as its end), so this bounds what the probes add to the load.
const MAX_PENDING: usize = 5;

/// `HIGH_GLUCOSE` fires on a day whose highest reading is above this (mg/dL).
const HIGH_GLUCOSE_ABOVE: i64 = 250;

const MIB: f64 = 1024.0 * 1024.0;

/// The samples the load of the window sends at most.
pub fn samples_needed(rate: f64) -> f64 {
    rate * WINDOW.as_secs_f64()
}

/// Figure 13 under load at `rate` samples/s (figure 5's).
pub async fn figure(live: &mut Live<'_>, report: &mut Report, rate: f64) -> Result<()> {
    println!("figure 13: the insights processor under figure 5's load ...");
    let specs: Vec<_> = (0..PROBE_USERS)
        .map(|i| {
            (
                chrono_tz::UTC,
                vec![("manual_entry", format!("glucose-probe-{i}"))],
            )
        })
        .collect();
    let members = population::create(
        live.stack(),
        live.http,
        live.db,
        live.prefix,
        &live.gateway.url,
        &specs,
    )
    .await?;
    let probes = Arc::new(GlucoseProbes::new(members));
    let topics = Topics::with_prefix(live.prefix);
    let group = format!("{}-insights", live.prefix);
    let mut insights =
        Service::insights_processor(live.scratch, "insights-live", live.db, live.prefix, &group)
            .await?;
    let lag = LagReader::new(live, &topics, &group).await?;
    let backlog = lag.read().await?;
    let seconds = lag.catch_up(&mut insights).await?;
    println!(
        "  it worked off {} aggregate changes and {} user-stream messages in {seconds:.0} s",
        backlog.changes, backlog.user_events
    );

    println!(
        "  window: {} s of load at {rate:.0} samples/s with freshness and insight probes ...",
        WINDOW.as_secs()
    );
    let before = InsightCounters::read(live.http, &insights.url).await?;
    let aggregation_before = ProcessorCounters::read(live.http, &live.processor.url).await?;
    let brokers = live.stack().brokers.clone();
    let ends_before = (
        topic_messages(&brokers, &topics.aggregates_updated).await?,
        topic_messages(&brokers, &topics.user_events).await?,
    );
    let named = [
        (live.gateway.pid(), "gateway"),
        (live.processor.pid(), "processor"),
        (insights.pid(), "insights"),
    ];
    let cpu_before = cpu::snapshot(&named);
    let started = Instant::now();
    let (http, gateway) = (live.http.clone(), live.gateway.url.clone());
    let (window, probed, lags) = tokio::join!(
        live.window(rate, WINDOW, None),
        probe_loop(&http, &gateway, probes, WINDOW),
        lag.during(WINDOW)
    );
    let (window, probed, lags) = (window?, probed?, lags?);
    let seconds = started.elapsed().as_secs_f64();
    let after = InsightCounters::read(live.http, &insights.url).await?;
    let behind = lags.last().copied().unwrap_or_default();
    let most_behind = lags.iter().map(Lag::total).max().unwrap_or(0);
    let appended = (
        topic_messages(&brokers, &topics.aggregates_updated).await? - ends_before.0,
        topic_messages(&brokers, &topics.user_events).await? - ends_before.1,
    );
    let cores = cpu::cores(&cpu_before, &cpu::snapshot(&named));
    let applied = after.applied - before.applied;
    let read = after.ignored - before.ignored;
    let insights_busy = (after.batch_seconds - before.batch_seconds) / seconds;
    let (p50, p99) = (
        quantile(&probed.insight_ms, 0.5),
        quantile(&probed.insight_ms, 0.99),
    );
    let lost = probed.lost_aggregate + probed.lost_insight;
    println!(
        "    sent {:.0} samples/s; insight after its aggregate p50 {p50:.0} ms p99 {p99:.0} ms ({} probes, {lost} lost, {} skipped); aggregate freshness p99 {:.0} ms",
        window.sent.samples_per_second(),
        probed.insight_ms.len() + lost,
        probed.skipped,
        quantile(&window.freshness.ms, 0.99),
    );
    println!(
        "    insights processor: {applied:.0} aggregate changes applied ({:.1}/s) of {} appended, {read:.0} user-stream messages read past, busy {:.0}% of the time; {} messages behind when the load ended, at most {most_behind}",
        applied / seconds,
        appended.0,
        insights_busy * 100.0,
        behind.total()
    );
    println!("      cores: {}", cpu::describe(&cores));
    let aggregation_busy = live.settle(aggregation_before, started).await?;
    let caught_up = lag.catch_up(&mut insights).await?;
    let idle_rss = insights.idle_rss;
    let peak_rss = insights.stop().await?;

    let kafka_p99 = quantile(&window.kafka_ms, 0.99);
    let load = format!(
        "{} s of load at {} samples/s (figure 5's), sent {}, with figure 5's freshness probes (aggregate freshness p99 {} ms here) and the Kafka round trip, no query clients",
        WINDOW.as_secs(),
        number(rate),
        number(window.sent.samples_per_second()),
        number(quantile(&window.freshness.ms, 0.99)),
    );
    report.add(
        Figure::new("13a", "Insight visible p99: aggregate visible → insight visible (API)", "ms")
            .measured(&[p99], "Kafka produce → consume p99", &[kafka_p99])
            .check(Check::value_below(2_000.0))
            .extra("p50_ms", json!(p50))
            .extra("kafka_p50_ms", json!(quantile(&window.kafka_ms, 0.5)))
            .extra("probes", json!(probed.insight_ms.len() + lost))
            .extra("lost_before_the_aggregate", json!(probed.lost_aggregate))
            .extra("lost_before_the_insight", json!(probed.lost_insight))
            .extra("skipped_probes", json!(probed.skipped))
            .extra("aggregate_p50_ms", json!(quantile(&probed.aggregate_ms, 0.5)))
            .extra("aggregate_p99_ms", json!(quantile(&probed.aggregate_ms, 0.99)))
            .extra("sync_to_insight_p99_ms", json!(quantile(&probed.total_ms, 0.99)))
            .extra("freshness_p50_ms", json!(quantile(&window.freshness.ms, 0.5)))
            .extra("freshness_p99_ms", json!(quantile(&window.freshness.ms, 0.99)))
            .extra("load_samples_per_second", json!(window.sent.samples_per_second()))
            .extra("cpu_cores", cpu::to_json(&cores))
            .note(format!(
                "a probe every {} ms (at most {MAX_PENDING} pending, the others skipped): one BLOOD_GLUCOSE reading above {HIGH_GLUCOSE_ABOVE} mg/dL on a day of its own of one of {PROBE_USERS} users (UTC), so HIGH_GLUCOSE fires for that day; timed from the poll that first showed the day's aggregate (GET /api/v1/aggregates?type=BLOOD_GLUCOSE&period=day, every 20 ms until then) to the poll that first showed the insight with that day and value (GET /api/v1/insights, every 20 ms for 2 s, then every 250 ms); p50 {} ms; {} probes, {lost} lost",
                PROBE_EVERY.as_millis(),
                number(p50),
                probed.insight_ms.len() + lost,
            ))
            .note(load.clone()),
    );
    report.add(
        Figure::new("13b", "Insights processor: aggregate changes applied under figure 5's load", "events/s")
            .measured(
                &[applied / seconds],
                "AggregatesUpdated appended in the same window",
                &[appended.0 as f64 / seconds],
            )
            .extra("events_applied", json!(applied))
            .extra("events_appended", json!(appended.0))
            .extra("user_stream_messages_read_past_per_second", json!(read / seconds))
            .extra("window_seconds", json!(seconds))
            .extra("busy_share", json!(insights_busy))
            .extra("aggregation_processor_busy_share", json!(aggregation_busy))
            .note(format!(
                "healthpipe_processor_messages_total{{outcome=\"applied\"}} of the insights processor over the window ({} s, until the last probe was seen); it also reads every message of the user stream, {} a second here, and passes over all but acknowledgements and erasures; busy {:.0}% of the window; no target",
                number(seconds),
                number(read / seconds),
                insights_busy * 100.0
            )),
    );
    report.add(
        Figure::new("13c", "Insights processor: lag at the end of the window", "messages")
            .measured(
                &[behind.total() as f64],
                "messages appended to its two topics during the window",
                &[(appended.0 + appended.1) as f64],
            )
            .extra("aggregate_changes_behind", json!(behind.changes))
            .extra("user_stream_messages_behind", json!(behind.user_events))
            .extra("most_behind_during_the_window", json!(most_behind))
            .extra("behind_each_second", json!(lags.iter().map(Lag::total).collect::<Vec<_>>()))
            .extra("caught_up_seconds_after", json!(caught_up))
            .note(format!(
                "the ends of the aggregates-updated topic and the user stream minus the offsets the group stored with its rows, read as the load's {} s ended (every second during it: at most {most_behind}); it had caught up {} s after the last probe; no target",
                WINDOW.as_secs(),
                number(caught_up)
            )),
    );
    report.add(
        Figure::new("13d", "Peak RSS of the insights processor", "MiB")
            .measured(&[peak_rss as f64 / MIB], "RSS after start-up", &[idle_rss as f64 / MIB])
            .note(format!(
                "one process: it first worked off the {} aggregate changes and {} user-stream messages of the run before it, then figure 13's window; no target",
                backlog.changes, backlog.user_events
            )),
    );
    Ok(())
}

/// The insights processor's counters (`healthpipe_processor_*`).
#[derive(Debug, Clone, Copy, Default)]
struct InsightCounters {
    /// Aggregate changes (and acknowledgements, erasures) applied.
    applied: f64,
    /// User-stream messages that are none of its business.
    ignored: f64,
    batch_seconds: f64,
}

impl InsightCounters {
    async fn read(http: &reqwest::Client, url: &str) -> Result<InsightCounters> {
        let m = scrape(http, url).await?;
        let get = |k: &str| m.get(k).copied().unwrap_or(0.0);
        Ok(InsightCounters {
            applied: get("healthpipe_processor_messages_total{outcome=\"applied\"}"),
            ignored: get("healthpipe_processor_messages_total{outcome=\"ignored\"}"),
            batch_seconds: get("healthpipe_processor_batch_duration_seconds_sum"),
        })
    }
}

/// Messages on the insights processor's topics it has not applied yet.
#[derive(Debug, Clone, Copy, Default)]
struct Lag {
    changes: i64,
    user_events: i64,
}

impl Lag {
    fn total(&self) -> i64 {
        self.changes + self.user_events
    }
}

/// Reads the insights processor's lag: the ends of its topics (nothing is ever deleted from
/// them) minus the offsets its group stored with its rows.
struct LagReader {
    db: Client,
    brokers: String,
    topics: Topics,
    group: String,
}

impl LagReader {
    async fn new(live: &Live<'_>, topics: &Topics, group: &str) -> Result<LagReader> {
        Ok(LagReader {
            db: connect(live.db).await?,
            brokers: live.stack().brokers.clone(),
            topics: topics.clone(),
            group: group.to_string(),
        })
    }

    async fn read(&self) -> Result<Lag> {
        let mut behind = [0i64; 2];
        for (slot, topic) in [&self.topics.aggregates_updated, &self.topics.user_events]
            .into_iter()
            .enumerate()
        {
            let end = topic_messages(&self.brokers, topic).await? as i64;
            let applied: i64 = query_one(&self.db, APPLIED_FROM_TOPIC, &[&self.group, topic])
                .await?
                .get(0);
            behind[slot] = (end - applied).max(0);
        }
        Ok(Lag {
            changes: behind[0],
            user_events: behind[1],
        })
    }

    /// Waits until the group has applied everything on its topics; returns the seconds it
    /// took.
    async fn catch_up(&self, processor: &mut Service) -> Result<f64> {
        let started = Instant::now();
        loop {
            processor.check_alive()?;
            if self.read().await?.total() == 0 {
                return Ok(started.elapsed().as_secs_f64());
            }
            if started.elapsed() > Duration::from_secs(1800) {
                bail!("{} did not catch up in 30 minutes", processor.name);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The lag every second for `duration`, the last reading when it has passed.
    async fn during(&self, duration: Duration) -> Result<Vec<Lag>> {
        let started = tokio::time::Instant::now();
        let mut out = Vec::new();
        for s in 1..=duration.as_secs() {
            tokio::time::sleep_until(started + Duration::from_secs(s)).await;
            out.push(self.read().await?);
        }
        Ok(out)
    }
}

/// The insight probes' users and the next free (user, day).
struct GlucoseProbes {
    members: Vec<Member>,
    next: Mutex<usize>,
    /// The latest day a probe writes to; later probes go further back.
    last_day: NaiveDate,
}

impl GlucoseProbes {
    fn new(members: Vec<Member>) -> GlucoseProbes {
        GlucoseProbes {
            members,
            next: Mutex::new(0),
            last_day: Utc::now().date_naive() - TimeDelta::days(3),
        }
    }

    /// A (user, day) no probe wrote to before, and the probe's number.
    fn take(&self) -> (Member, NaiveDate, usize) {
        let mut next = self.next.lock().expect("not poisoned");
        let k = *next;
        *next += 1;
        let n = self.members.len();
        let back = i64::try_from(k / n).unwrap_or(i64::MAX);
        (
            self.members[k % n].clone(),
            self.last_day - TimeDelta::days(back),
            k,
        )
    }
}

/// What the insight probes of one window measured.
#[derive(Debug, Default)]
struct Probed {
    /// Gateway 200 → the day's aggregate visible, per probe that got that far.
    aggregate_ms: Vec<f64>,
    /// The day's aggregate visible → its insight visible, per probe that got that far.
    insight_ms: Vec<f64>,
    /// Gateway 200 → insight visible.
    total_ms: Vec<f64>,
    lost_aggregate: usize,
    lost_insight: usize,
    skipped: usize,
}

/// Sends an insight probe every `PROBE_EVERY` for `duration` and waits for all of them.
async fn probe_loop(
    http: &reqwest::Client,
    gateway: &str,
    probes: Arc<GlucoseProbes>,
    duration: Duration,
) -> Result<Probed> {
    let (results, skipped) = super::live::probe_every(PROBE_EVERY, duration, MAX_PENDING, || {
        let (member, day, k) = probes.take();
        let (http, gateway) = (http.clone(), gateway.to_string());
        async move { probe(&http, &gateway, &member, day, k).await }
    })
    .await?;
    let mut out = Probed {
        skipped,
        ..Probed::default()
    };
    for result in results {
        match result {
            (None, _) => out.lost_aggregate += 1,
            (Some(_), None) => out.lost_insight += 1,
            (Some(aggregate), Some(insight)) => {
                out.aggregate_ms.push(aggregate);
                out.insight_ms.push(insight);
                out.total_ms.push(aggregate + insight);
            }
        }
    }
    Ok(out)
}

/// One reading above the threshold on `day`; returns the milliseconds from the 200 to its
/// day's aggregate and from there to its insight, `None` for a step that timed out.
async fn probe(
    http: &reqwest::Client,
    gateway: &str,
    member: &Member,
    day: NaiveDate,
    k: usize,
) -> Result<(Option<f64>, Option<f64>)> {
    let value = (HIGH_GLUCOSE_ABOVE + 10 + (k % 700) as i64) as f64;
    let start = day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
    let time = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let at = time(start + TimeDelta::hours(12));
    let body = format!(
        r#"{{"samples":[{{"type":"BLOOD_GLUCOSE","value":{value},"unit":"mg/dL","start_date":"{at}","end_date":"{at}"}}]}}"#
    );
    let acknowledged = super::live::sync_probe(http, gateway, member, body).await?;
    let aggregates = format!(
        "{gateway}/api/v1/aggregates?type=BLOOD_GLUCOSE&period=day&from={}&to={}",
        time(start),
        time(start + TimeDelta::days(1))
    );
    let Some(aggregate_at) = poll(http, &aggregates, member, None, |body| {
        body.as_array()
            .is_some_and(|rows| rows.iter().any(|r| r["max_value"].as_f64() == Some(value)))
    })
    .await?
    else {
        return Ok((None, None));
    };
    let day_text = day.to_string();
    let insights = format!("{gateway}/api/v1/insights?limit=20");
    let insight_at = poll(
        http,
        &insights,
        member,
        Some(Duration::from_secs(2)),
        |body| {
            body["insights"].as_array().is_some_and(|list| {
                list.iter().any(|i| {
                    i["type"] == "HIGH_GLUCOSE"
                        && i["data"]["date"].as_str() == Some(day_text.as_str())
                        && i["data"]["value"].as_f64() == Some(value)
                })
            })
        },
    )
    .await?;
    let ms = |from: Instant, to: Instant| (to - from).as_secs_f64() * 1e3;
    Ok((
        Some(ms(acknowledged, aggregate_at)),
        insight_at.map(|t| ms(aggregate_at, t)),
    ))
}
