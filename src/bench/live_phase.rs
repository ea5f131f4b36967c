//! Figures 5, 6 and 8: the pipeline live on the main database. Users whose devices sync at
//! half the measured maximum ingest rate keep the gateway and a processor busy while probes
//! measure freshness and query clients measure latency (`live`); then users upload single
//! samples from days ago and the processor's counters show what each one costs (`late`).
//! The query users get a year of history first (`history`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::{NaiveDate, TimeDelta, Utc};
use healthpipe_schemas::Topics;
use serde_json::json;

use super::env::{drain, topic_messages, ProcessorCounters, Scratch, Service};
use super::load::{self, Request};
use super::population::{self, Member};
use super::report::{number, quantile, stat_json, Check, Clock, Figure, Report};
use super::workload::{self as wl, WorkloadSpec};
use super::Sizes;
use super::{cpu, history, late, live, queries};
use crate::workload::generate_realistic;

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

/// Figures 5, 6 and 8 on the main database, with a processor that keeps up with load at
/// `max_rate / 2`; returns the live processor's peak memory.
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

    // Users whose devices produce the load, probe users, and users with a year of history.
    let needed = (rate * window_secs as f64 * repeat as f64 * 1.3) as usize;
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
    population::recompute_everything(stack, prefix, &year_members).await?;

    let group = format!("{prefix}-processor-pass1");
    let mut processor =
        Service::processor(scratch, "processor-live", main_db, prefix, &group).await?;
    let topic = Topics::with_prefix(prefix).user_events;
    let setup = Instant::now();
    let backlog = topic_messages(&stack.brokers, &topic).await? as f64;
    // The group already applied the main workload: this process only sees the new messages.
    let applied: i64 = super::env::connect(main_db)
        .await?
        .query_one(
            "SELECT COALESCE(sum(next_offset), 0)::bigint FROM consumer_offsets WHERE consumer_group = $1",
            &[&group],
        )
        .await?
        .get(0);
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
                (0..sizes.days).filter_map(move |d| {
                    let date = first_day + TimeDelta::days(d.into());
                    let start = date
                        .and_hms_opt(0, 0, 0)?
                        .and_local_timezone(m.timezone)
                        .earliest()?;
                    let end = (date + TimeDelta::days(1))
                        .and_hms_opt(0, 0, 0)?
                        .and_local_timezone(m.timezone)
                        .earliest()?;
                    Some((m.id, start.with_timezone(&Utc), end.with_timezone(&Utc)))
                })
            })
            .collect(),
    });
    let rtt_prefix = scratch.topics("rtt").await?;
    // Freshness with nothing else going on: what a probe costs when the processor is idle.
    let idle = live::freshness(http, &gateway.url, probes.clone(), Duration::from_secs(5)).await?;
    let (idle_ms, idle_lost) = (idle.ms, idle.lost);
    println!(
        "  without load: freshness p50 {:.0} ms p99 {:.0} ms ({} probes, {idle_lost} lost)",
        quantile(&idle_ms, 0.5),
        quantile(&idle_ms, 0.99),
        idle_ms.len()
    );
    let mut windows = Vec::new();
    let mut busy_shares = Vec::new();
    let mut windows_cpu = Vec::new();
    let mut next = 0;
    for w in 0..repeat {
        println!("  window {}: {window_secs} s of load at {rate:.0} samples/s with probes and queries ...", w + 1);
        let before = ProcessorCounters::read(http, &processor.url).await?;
        let window_started = Instant::now();
        let named = [(gateway.pid(), "gateway"), (processor.pid(), "processor")];
        let cpu_before = cpu::snapshot(&named);
        let (window, after) = live::window(
            http,
            stack,
            &gateway.url,
            &rtt_prefix,
            load_requests.clone(),
            next,
            rate,
            Duration::from_secs(window_secs),
            probes.clone(),
            targets.clone(),
            4,
        )
        .await?;
        next = after;
        println!(
            "    sent {:.0} samples/s; freshness p50 {:.0} ms p99 {:.0} ms ({} probes, {} lost, {} skipped); year of days p99 {:.1} ms, day of samples p99 {:.1} ms, SELECT 1 p50 {:.2} ms",
            window.sent.samples_per_second(),
            quantile(&window.freshness.ms, 0.5),
            quantile(&window.freshness.ms, 0.99),
            window.freshness.ms.len(),
            window.freshness.lost,
            window.freshness.skipped,
            quantile(&window.queries.year_ms, 0.99),
            quantile(&window.queries.day_ms, 0.99),
            quantile(&window.queries.select1_ms, 0.5),
        );
        let window_cpu = cpu::cores(&cpu_before, &cpu::snapshot(&named));
        println!("      cores: {}", cpu::describe(&window_cpu));
        windows_cpu.push(window_cpu);
        windows.push(window);
        // Let the processor catch up before the next window.
        let backlog = topic_messages(&stack.brokers, &topic).await? as f64;
        let now = ProcessorCounters::read(http, &processor.url).await?;
        // The window lasts until its last probe is visible, so it is longer than the load.
        let busy =
            (now.batch_seconds - before.batch_seconds) / window_started.elapsed().as_secs_f64();
        println!(
            "    processor during the window: {:.0} batches, busy {:.0}% of the time, {:.0} messages applied, {:.0} stored rows re-read",
            now.batches - before.batches,
            busy * 100.0,
            now.messages - before.messages,
            now.rows_loaded - before.rows_loaded
        );
        busy_shares.push(busy);
        let applied: i64 = super::env::connect(main_db)
            .await?
            .query_one(
                "SELECT COALESCE(sum(next_offset), 0)::bigint FROM consumer_offsets WHERE consumer_group = $1",
                &[&group],
            )
            .await?
            .get(0);
        drain(
            http,
            &mut processor,
            now,
            now.messages + (backlog - applied as f64).max(0.0),
            Duration::from_secs(600),
        )
        .await?;
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
        let select1 = p(&|w| &w.queries.select1_ms, 0.99);
        let year_rows =
            windows.iter().map(|w| w.queries.year_rows).sum::<f64>() / windows.len() as f64;
        let day_rows =
            windows.iter().map(|w| w.queries.day_rows).sum::<f64>() / windows.len() as f64;
        report.add(
            Figure::new("6a", "Query p99: a year of daily aggregates (API)", "ms")
                .measured(&p(&|w| &w.queries.year_ms, 0.99), "SELECT 1 round trip p99", &select1)
                .check(Check::value_below(20.0))
                .extra("p50_ms", json!(stat_json(&p(&|w| &w.queries.year_ms, 0.5))))
                .extra("rows_per_answer", json!(year_rows))
                .note(format!(
                    "p50 {} ms; {} rows an answer; HTTP through the gateway while the load of figure 5 ran",
                    number(quantile(&p(&|w| &w.queries.year_ms, 0.5), 0.5)),
                    number(year_rows)
                )),
        );
        report.add(
            Figure::new("6b", "Query p99: one day of samples (SQL)", "ms")
                .measured(&p(&|w| &w.queries.day_ms, 0.99), "SELECT 1 round trip p99", &select1)
                .check(Check::value_below(20.0))
                .extra("p50_ms", json!(stat_json(&p(&|w| &w.queries.day_ms, 0.5))))
                .extra("rows_per_answer", json!(day_rows))
                .note(format!(
                    "p50 {} ms; there is no samples endpoint yet, so this is the SQL such an endpoint would run (prepared statement); {} rows an answer",
                    number(quantile(&p(&|w| &w.queries.day_ms, 0.5), 0.5)),
                    number(day_rows)
                )),
        );
    }
    clock.lap("figures 5 and 6");

    if sizes.wants(8) {
        println!("figure 8: late data, {} runs ...", repeat);
        let per_round = if sizes.quick { 6 } else { 30 }.min(members.len());
        let (mut rows, mut buckets) = (Vec::new(), Vec::new());
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
                &mut processor,
                main_db,
                &chosen,
                day,
                sizes.seed + r as u64,
            )
            .await?;
            println!(
                "    {} late samples: {:.0} rows re-read each, {:.1} samples in their hour buckets",
                late.samples, late.rows_per_sample, late.bucket_samples_per_sample
            );
            rows.push(late.rows_per_sample);
            buckets.push(late.bucket_samples_per_sample);
        }
        report.add(
            Figure::new("8", "Late data: rows re-read per late sample", "rows")
                .measured(&rows, "samples in the hour buckets it touches", &buckets)
                .baseline_unit("samples")
                .check(Check::ratio_at_most(1.5))
                .note("one late sample (steps, heart rate or weight, 2-3 days old) per user; rows counted by healthpipe_processor_recompute_rows_loaded_total"),
        );
        clock.lap("figure 8");
    }
    processor.stop().await
}
