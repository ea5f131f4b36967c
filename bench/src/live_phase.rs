//! Figures 5, 6, 5b, 13 and 8: the pipeline live on the main database. Users whose devices
//! sync at half the measured maximum ingest rate keep the gateway and a processor busy while
//! probes measure freshness and query clients measure latency (`live`); then the same load at
//! a quarter, half and three quarters of that rate draws the freshness curve (`curve`), the
//! insights processor runs beside the aggregation processor under half of it (`insights`),
//! and users upload single samples from days ago and the processor's counters show what each
//! one costs (`late`). The query users get a year of history first (`history`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::{NaiveDate, TimeDelta, Utc};
use healthpipe_schemas::Topics;
use healthpipe_storage::sql::query_one;
use serde_json::json;

use super::env::{drain, topic_messages, ProcessorCounters, Scratch, Service, Stack};
use super::load::{self, Request};
use super::population::{self, Member};
use super::queries::{self, Latencies};
use super::report::{number, quantile, spread, stat_json, Check, Clock, Figure, Report, Stat};
use super::workload::{self as wl, WorkloadSpec};
use super::Sizes;
use super::{cpu, curve, history, insights, late, live};
use crate::realistic::generate_realistic;

healthpipe_storage::statement!(APPLIED, "offsets_applied");

/// Query clients of figure 6 in each window.
const QUERY_CLIENTS: usize = 4;

/// What the live phase takes over from the main run.
#[derive(Clone, Copy)]
pub struct Main<'a> {
    pub scratch: &'a Scratch,
    pub sizes: &'a Sizes,
    pub http: &'a reqwest::Client,
    pub db: &'a str,
    pub prefix: &'a str,
    pub gateway: &'a Service,
    pub members: &'a [Member],
    pub first_day: NaiveDate,
}

/// Figures 5, 6, 5b, 13 and 8 on the main database, with a processor that keeps up with load
/// at `max_rate / 2`; returns the live processor's peak memory.
pub async fn run(
    main: &Main<'_>,
    report: &mut Report,
    clock: &mut Clock,
    max_rate: f64,
) -> Result<u64> {
    let Main {
        scratch,
        sizes,
        http,
        db: main_db,
        prefix,
        gateway,
        members,
        first_day,
    } = *main;
    let stack = &scratch.stack;
    let repeat = sizes.repeat;
    let window_secs = if sizes.quick { 8 } else { 15 };
    let rate = (max_rate / 2.0).max(1_000.0);
    println!("live: preparing load at {rate:.0} samples/s (half of {max_rate:.0}), a year of history for the query users ...");

    // Users whose devices produce the load (every window sends new requests), probe users,
    // and users with a year of history.
    let mut samples = rate * window_secs as f64 * repeat as f64;
    if sizes.wants(5) {
        samples += curve::samples_needed(max_rate);
    }
    if sizes.wants(13) {
        samples += insights::samples_needed(rate);
    }
    let needed = (samples * 1.3) as usize;
    let load_spec = WorkloadSpec {
        users: (needed / 3_000).max(2),
        days: 2,
        first_day: first_day - TimeDelta::days(3),
        seed: sizes.seed ^ 0x11fe,
        late_share: 0.0,
        retry_share: 0.0,
    };
    let load_workload = tokio::task::spawn_blocking(move || wl::build(&load_spec)).await?;
    let load_specs: Vec<_> = load_workload
        .users
        .iter()
        .map(|u| (u.timezone, u.devices.clone()))
        .collect();
    let load_members =
        population::create(stack, http, main_db, prefix, &gateway.url, &load_specs).await?;
    let load_requests: Arc<Vec<Request>> =
        Arc::new(load::requests(&load_workload.uploads, &load_members));
    drop(load_workload);

    let probe_specs: Vec<_> = (0..8)
        .map(|i| (chrono_tz::UTC, vec![("manual_entry", format!("probe-{i}"))]))
        .collect();
    let probes = Arc::new(live::Probes::new(
        population::create(stack, http, main_db, prefix, &gateway.url, &probe_specs).await?,
    ));

    let year_users = if sizes.quick { 1 } else { 2 };
    // The last night's sleep ends the next morning: keep it in the past in every zone.
    let year_last = Utc::now().date_naive() - TimeDelta::days(2);
    let year_spec = WorkloadSpec {
        users: year_users,
        days: 365,
        first_day: year_last - TimeDelta::days(364),
        seed: sizes.seed ^ 0x7ea4,
        late_share: 0.0,
        retry_share: 0.0,
    };
    let (year_specs, year_devices) = tokio::task::spawn_blocking(move || {
        (0..year_spec.users)
            .map(|u| {
                let devices = generate_realistic(&wl::user_spec(&year_spec, u));
                let kinds: Vec<_> = devices
                    .iter()
                    .map(|d| (d.device_type, d.identifier.clone()))
                    .collect();
                ((wl::user_spec(&year_spec, u).timezone, kinds), devices)
            })
            .unzip::<_, _, Vec<_>, Vec<_>>()
    })
    .await?;
    let year_members =
        population::create(stack, http, main_db, prefix, &gateway.url, &year_specs).await?;
    let year_samples = history::copy(main_db, &year_members, &year_devices, 0..365).await?;
    drop(year_devices);
    population::recompute_everything(stack, main_db, prefix, &year_members).await?;

    let group = format!("{prefix}-processor-pass1");
    let mut processor = Service::processor(
        scratch,
        "processor-live",
        (main_db, main_db),
        prefix,
        &group,
    )
    .await?;
    let topic = Topics::with_prefix(prefix).user_events;
    let setup = Instant::now();
    let backlog = topic_messages(&stack.brokers, &topic).await? as f64;
    // The group already applied the main workload: this process only sees the new messages.
    let applied = applied_messages(main_db, &group).await?;
    drain(
        http,
        &mut processor,
        ProcessorCounters::default(),
        backlog - applied as f64,
        Duration::from_secs(1800),
    )
    .await?;
    println!(
        "  {year_samples} samples of a year for {year_users} query users aggregated by the live processor in {:.0} s",
        setup.elapsed().as_secs_f64()
    );
    clock.lap("live set-up");
    let rtt_prefix = scratch.topics("rtt").await?;
    let mut live = Live {
        scratch,
        http,
        gateway,
        db: main_db,
        prefix,
        rtt_prefix: &rtt_prefix,
        group: &group,
        requests: load_requests,
        next: 0,
        probes: probes.clone(),
        processor,
    };

    let targets = Arc::new(queries::Targets {
        gateway: gateway.url.clone(),
        database_url: main_db.to_string(),
        year: year_members
            .iter()
            .map(|m| (m.clone(), year_last))
            .collect(),
        days: members
            .iter()
            .take(200)
            .flat_map(|m| {
                (0..sizes.days).map(move |d| (m.clone(), first_day + TimeDelta::days(d.into())))
            })
            .collect(),
    });
    // Freshness with nothing else going on: what a probe costs when the processor is idle.
    let idle = live::freshness(http, &gateway.url, probes.clone(), Duration::from_secs(5)).await?;
    let (idle_ms, idle_lost) = (idle.ms, idle.lost);
    println!(
        "  without load: freshness p50 {:.0} ms p99 {:.0} ms ({} probes, {idle_lost} lost)",
        quantile(&idle_ms, 0.5),
        quantile(&idle_ms, 0.99),
        idle_ms.len()
    );
    // Figure 6e: the same query clients with nothing else going on.
    let mut unloaded = Vec::new();
    if sizes.wants(6) {
        for w in 0..repeat {
            let latencies = queries::run(
                http,
                targets.clone(),
                QUERY_CLIENTS,
                Duration::from_secs(window_secs.min(10)),
            )
            .await?;
            println!(
                "  unloaded queries {}: p99 of year of days {:.1} ms, day of samples {:.1} ms, summary {:.1} ms, insights {:.1} ms",
                w + 1,
                quantile(&latencies.year_ms, 0.99),
                quantile(&latencies.day_ms, 0.99),
                quantile(&latencies.summary_ms, 0.99),
                quantile(&latencies.insights_ms, 0.99),
            );
            unloaded.push(latencies);
        }
    }
    let mut windows = Vec::new();
    let mut busy_shares = Vec::new();
    let mut windows_cpu = Vec::new();
    for w in 0..repeat {
        println!("  window {}: {window_secs} s of load at {rate:.0} samples/s with probes and queries ...", w + 1);
        let before = ProcessorCounters::read(http, &live.processor.url).await?;
        let window_started = Instant::now();
        let named = [
            (gateway.pid(), "gateway"),
            (live.processor.pid(), "processor"),
        ];
        let cpu_before = cpu::snapshot(&named);
        let window = live
            .window(
                rate,
                Duration::from_secs(window_secs),
                Some((targets.clone(), QUERY_CLIENTS)),
            )
            .await?;
        println!(
            "    sent {:.0} samples/s; freshness p50 {:.0} ms p99 {:.0} ms ({} probes, {} lost, {} skipped); p99 of year of days {:.1} ms, day of samples {:.1} ms, summary {:.1} ms, insights {:.1} ms; SELECT 1 p50 {:.2} ms",
            window.sent.samples_per_second(),
            quantile(&window.freshness.ms, 0.5),
            quantile(&window.freshness.ms, 0.99),
            window.freshness.ms.len(),
            window.freshness.lost,
            window.freshness.skipped,
            quantile(&window.queries.year_ms, 0.99),
            quantile(&window.queries.day_ms, 0.99),
            quantile(&window.queries.summary_ms, 0.99),
            quantile(&window.queries.insights_ms, 0.99),
            quantile(&window.queries.select1_ms, 0.5),
        );
        let window_cpu = cpu::cores(&cpu_before, &cpu::snapshot(&named));
        println!("      cores: {}", cpu::describe(&window_cpu));
        windows_cpu.push(window_cpu);
        windows.push(window);
        busy_shares.push(live.settle(before, window_started).await?);
    }
    let p = |f: &dyn Fn(&live::Window) -> &Vec<f64>, q: f64| -> Vec<f64> {
        windows.iter().map(|w| quantile(f(w), q)).collect()
    };
    let lost: usize = windows.iter().map(|w| w.freshness.lost).sum();
    let skipped: usize = windows.iter().map(|w| w.freshness.skipped).sum();
    let probes_sent: usize = windows
        .iter()
        .map(|w| w.freshness.ms.len() + w.freshness.lost)
        .sum();
    let achieved: Vec<f64> = windows
        .iter()
        .map(|w| w.sent.samples_per_second())
        .collect();
    if sizes.wants(5) {
        report.add(
            Figure::new("5", "Freshness p99: gateway 200 → aggregate visible", "ms")
                .measured(&p(&|w| &w.freshness.ms, 0.99), "Kafka produce → consume p99", &p(&|w| &w.kafka_ms, 0.99))
                .check(Check::value_below(1_000.0))
                .extra("p50_ms", json!(stat_json(&p(&|w| &w.freshness.ms, 0.5))))
                .extra("kafka_p50_ms", json!(stat_json(&p(&|w| &w.kafka_ms, 0.5))))
                .extra("load_samples_per_second", json!(stat_json(&achieved)))
                .extra("probes", json!(probes_sent))
                .extra("processor_busy_share", json!(stat_json(&busy_shares)))
                .extra("without_load_p50_ms", json!(quantile(&idle_ms, 0.5)))
                .extra("without_load_p99_ms", json!(quantile(&idle_ms, 0.99)))
                .extra("lost_probes", json!(lost))
                .extra("skipped_probes", json!(skipped))
                .extra("cpu_cores_first_window", cpu::to_json(&windows_cpu[0]))
                .note(format!(
                    "load at half the measured maximum ingest rate ({} of {} samples/s), a probe every 100 ms (at most 20 pending) polled every 20 ms; p50 {} ms; the query clients of figure 6 ran at the same time",
                    number(rate),
                    number(max_rate),
                    number(quantile(&p(&|w| &w.freshness.ms, 0.5), 0.5))
                )),
        );
    }
    if sizes.wants(6) {
        figure_6(report, &windows);
        figure_6e(report, &unloaded);
    }
    clock.lap("figures 5 and 6");

    if sizes.wants(5) {
        curve::figure(&mut live, report, max_rate).await?;
        clock.lap("figure 5b");
    }
    if sizes.wants(13) {
        insights::figure(&mut live, report, rate).await?;
        clock.lap("figure 13");
    }

    if sizes.wants(8) {
        println!("figure 8: late data, {} runs ...", repeat);
        let per_round = if sizes.quick { 6 } else { 30 }.min(members.len());
        let (mut rows, mut touched, mut hours) = (Vec::new(), Vec::new(), Vec::new());
        for r in 0..repeat {
            let chosen: Vec<_> = members
                .iter()
                .cycle()
                .skip(r * per_round)
                .take(per_round)
                .cloned()
                .collect();
            let back = 3 + r as i64 % 2;
            let day = first_day + TimeDelta::days((sizes.days as i64 - back).max(0));
            let late = late::round(
                http,
                &gateway.url,
                &mut live.processor,
                main_db,
                &chosen,
                day,
                sizes.seed + r as u64,
            )
            .await?;
            println!(
                "    {} late samples: {:.0} rows re-read each; {:.1} samples in the buckets each touches, {:.1} in its hour buckets",
                late.samples, late.rows_per_sample, late.touched_samples_per_sample, late.hour_samples_per_sample
            );
            rows.push(late.rows_per_sample);
            touched.push(late.touched_samples_per_sample);
            hours.push(late.hour_samples_per_sample);
        }
        report.add(figure_8(&rows, &touched, &hours));
        clock.lap("figure 8");
    }
    live.processor.stop().await
}

/// The live pipeline once set up: the gateway and the aggregation processor on the main
/// database, the load's requests (each window sends new ones) and the freshness probes.
pub(crate) struct Live<'a> {
    pub scratch: &'a Scratch,
    pub http: &'a reqwest::Client,
    pub gateway: &'a Service,
    pub db: &'a str,
    pub prefix: &'a str,
    /// Topics of the Kafka round trip, the freshness baseline.
    pub rtt_prefix: &'a str,
    /// The aggregation processor's consumer group.
    pub group: &'a str,
    pub requests: Arc<Vec<Request>>,
    /// The first request no window has sent yet.
    pub next: usize,
    pub probes: Arc<live::Probes>,
    pub processor: Service,
}

impl Live<'_> {
    pub fn stack(&self) -> &Stack {
        &self.scratch.stack
    }

    /// `duration` of load at `rate` samples/s with freshness probes and the Kafka round trip,
    /// and with query clients if `queries` names them.
    pub async fn window(
        &mut self,
        rate: f64,
        duration: Duration,
        queries: Option<(Arc<queries::Targets>, usize)>,
    ) -> Result<live::Window> {
        let (window, next) = live::window(
            self.http,
            &self.scratch.stack,
            &self.gateway.url,
            self.rtt_prefix,
            self.requests.clone(),
            self.next,
            rate,
            duration,
            self.probes.clone(),
            queries,
        )
        .await?;
        self.next = next;
        Ok(window)
    }

    /// After a window that started at `started` with the processor's counters at `before`:
    /// prints what the processor did and returns the share of the time it was busy, then
    /// waits until it has applied everything on the topic, so the next window starts level.
    pub async fn settle(&mut self, before: ProcessorCounters, started: Instant) -> Result<f64> {
        let topic = Topics::with_prefix(self.prefix).user_events;
        let backlog = topic_messages(&self.scratch.stack.brokers, &topic).await? as f64;
        let now = ProcessorCounters::read(self.http, &self.processor.url).await?;
        // The window lasts until its last probe is visible, so it is longer than the load.
        let busy = (now.batch_seconds - before.batch_seconds) / started.elapsed().as_secs_f64();
        println!(
            "    processor during the window: {:.0} batches, busy {:.0}% of the time, {:.0} messages applied, {:.0} stored rows re-read",
            now.batches - before.batches,
            busy * 100.0,
            now.messages - before.messages,
            now.rows_loaded - before.rows_loaded
        );
        let applied = applied_messages(self.db, self.group).await?;
        drain(
            self.http,
            &mut self.processor,
            now,
            now.messages + (backlog - applied as f64).max(0.0),
            Duration::from_secs(600),
        )
        .await?;
        Ok(busy)
    }
}

/// Figure 6: the p99 of each query of the dashboard clients in each window, against the
/// `SELECT 1` p99 of the same window, so that what the database and the shared machine add
/// anyway is visible beside what the API adds.
fn figure_6(report: &mut Report, windows: &[live::Window]) {
    type Pick = fn(&Latencies) -> &Vec<f64>;
    let p = |pick: Pick, q: f64| -> Vec<f64> {
        windows
            .iter()
            .map(|w| quantile(pick(&w.queries), q))
            .collect()
    };
    let mean = |pick: fn(&Latencies) -> f64| -> f64 {
        windows.iter().map(|w| pick(&w.queries)).sum::<f64>() / windows.len().max(1) as f64
    };
    let select1 = p(|q| &q.select1_ms, 0.99);
    let row = |id: &str, title: &str, pick: Pick| -> (Figure, f64) {
        let p50 = p(pick, 0.5);
        let answers: usize = windows.iter().map(|w| pick(&w.queries).len()).sum();
        let figure = Figure::new(id, title, "ms")
            .measured(&p(pick, 0.99), "SELECT 1 round trip p99", &select1)
            .check(Check::value_below(20.0))
            .extra("p50_ms", json!(stat_json(&p50)))
            .extra("answers", json!(answers));
        (figure, quantile(&p50, 0.5))
    };
    let clients = format!("{QUERY_CLIENTS} clients each asked 6a, 6b, 6c and 6d in turn every 100 ms, HTTP through the gateway while the load of figure 5 ran");

    let (figure, p50) = row("6a", "Query p99: a year of daily aggregates (API)", |q| {
        &q.year_ms
    });
    let year_rows = mean(|q| q.year_rows);
    report.add(
        figure
            .extra("rows_per_answer", json!(year_rows))
            .note(format!(
                "p50 {} ms; {} rows an answer; {clients}",
                number(p50),
                number(year_rows)
            )),
    );

    let (figure, p50) = row(
        "6b",
        "Query p99: one local day of samples (API, first page)",
        |q| &q.day_ms,
    );
    let (day_rows, day_more) = (mean(|q| q.day_rows), mean(|q| q.day_more));
    report.add(
        figure
            .extra("request", json!(format!("GET /api/v1/samples?type=HEART_RATE|STEPS&from=D&to=D&limit={}", queries::DAY_PAGE)))
            .extra("samples_per_answer", json!(day_rows))
            .extra("share_with_next_page", json!(day_more))
            .note(format!(
                "p50 {} ms; the whole local day D of one type (heart rate or steps, alternately) with limit={}, the endpoint's maximum, as a day view would ask to get the day in one page; only that first page is timed: {} samples an answer, {:.0}% of the days had another page; each answer deduplicates its page against the neighbouring samples for counted_fraction",
                number(p50),
                queries::DAY_PAGE,
                number(day_rows),
                day_more * 100.0
            )),
    );

    let (figure, p50) = row("6c", "Query p99: summary of one date (API)", |q| {
        &q.summary_ms
    });
    let types = mean(|q| q.summary_types);
    report.add(
        figure
            .extra("types_per_answer", json!(types))
            .note(format!(
                "p50 {} ms; GET /api/v1/summary?date=D for the dates of 6b (dates of the main workload, so the 7-day mean has fewer days at its start); {} types an answer",
                number(p50),
                number(types)
            )),
    );

    let (figure, p50) = row("6d", "Query p99: the insights list (API)", |q| {
        &q.insights_ms
    });
    let insights = mean(|q| q.insights);
    report.add(
        figure
            .extra("insights_per_answer", json!(insights))
            .note(format!(
                "p50 {} ms; GET /api/v1/insights (default limit) for the users of 6b; {} insights an answer: no insights processor runs during these windows (figure 13 starts one later), so this is the session check and an indexed lookup that finds nothing",
                number(p50),
                number(insights)
            )),
    );
}

/// Figure 6e: figure 6's queries asked by the same clients before any load, against the
/// `SELECT 1` p99 of the same runs: what a query costs on an idle machine (the design's
/// "~5 ms hot").
fn figure_6e(report: &mut Report, runs: &[Latencies]) {
    type Pick = fn(&Latencies) -> &Vec<f64>;
    let p99 = |pick: Pick| -> Vec<f64> { runs.iter().map(|q| quantile(pick(q), 0.99)).collect() };
    let select1 = p99(|q| &q.select1_ms);
    let queries: [(&str, &str, Pick); 4] = [
        ("6e a", "a year of daily aggregates", |q| &q.year_ms),
        ("6e b", "one local day of samples (first page)", |q| {
            &q.day_ms
        }),
        ("6e c", "summary of one date", |q| &q.summary_ms),
        ("6e d", "the insights list", |q| &q.insights_ms),
    ];
    for (id, what, pick) in queries {
        report.add(
            Figure::new(id, format!("Unloaded query p99: {what} (API)"), "ms")
                .measured(&p99(pick), "SELECT 1 round trip p99", &select1)
                .check(Check::value_below(5.0))
                .note(format!(
                    "the clients and requests of figure 6 before any load ran, {} runs",
                    runs.len()
                )),
        );
    }
}

/// Figure 8 against the design's baseline (the samples in the union of the hour, day, week and
/// month buckets of each late sample); the strict hour-bucket reading rides along as an extra
/// field and a note, so both are in the JSON and under the table but only one is checked.
fn figure_8(rows: &[f64], touched: &[f64], hours: &[f64]) -> Figure {
    let strict: Vec<f64> = rows.iter().zip(hours).map(|(r, h)| r / h).collect();
    let stat = |values: &[f64]| Stat::of(values).map_or_else(|| "n/a".to_string(), spread);
    Figure::new("8", "Late data: rows re-read per late sample", "rows")
        .measured(
            rows,
            "samples in the hour, day, week and month buckets it touches",
            touched,
        )
        .baseline_unit("samples")
        .check(Check::ratio_at_most(1.5))
        .extra(
            "strict_hour_buckets_only",
            json!({
                "baseline": "samples in the hour buckets it touches",
                "samples_per_late_sample": stat_json(hours),
                "ratio": stat_json(&strict),
                "checked": false,
            }),
        )
        .note(format!(
            "strict reading, hour buckets only (not checked): {} samples in them, ratio {}",
            stat(hours),
            stat(&strict)
        ))
        .note("the baseline counts stored samples of the late sample's user and type overlapping the union of its hour, day, ISO week and month buckets, each sample once")
        .note("one late sample (steps, heart rate or weight, dated 2-3 days before the workload's last day) per user; rows counted by healthpipe_processor_recompute_rows_loaded_total")
}

/// Messages `group` has applied to `database_url`, from the offsets it stores there.
async fn applied_messages(database_url: &str, group: &str) -> Result<i64> {
    let db = super::env::connect(database_url).await?;
    Ok(query_one(&db, APPLIED, &[&group]).await?.get(0))
}
