//! The order of a bench run. The main workload goes through the gateway once (figure 1,
//! in slices); the processor works it off several times into empty databases (figure 2),
//! and as often again into empty schemas (figure 7); then the pipeline runs live at half its
//! measured capacity (figures 5 and 6), at a quarter, a half and three quarters of it (figure
//! 5b), with the insights processor beside it (figure 13), and takes late data (figure 8);
//! figures 4 and 10 use workloads of their own. Figure 12 sizes the topic and the tables
//! figure 2 filled. Memory (figure 9) is read from every service process.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::{TimeDelta, Utc};
use healthpipe_schemas::Topics;
use serde_json::json;

use super::env::{scrape, Scratch, Service};
use super::load;
use super::report::{number, quantile, Check, Clock, Figure, Report};
use super::sealing;
use super::storage;
use super::workload::{self as wl, Workload, WorkloadSpec};
use super::Sizes;
use super::{cpu, decode, dedup, gateway, growth, live_phase, minimal, population, processor};

const MIB: f64 = 1024.0 * 1024.0;

pub async fn all(scratch: &Scratch, sizes: &Sizes) -> Result<Report> {
    let mut report = Report::default();
    let mut clock = Clock::new();
    let stack = &scratch.stack;
    let http = load::client(sizes.clients * 2)?;
    let repeat = sizes.repeat;

    // Setup: the main database and topic, the gateway, the workload, the users.
    println!("setup: generating the workload and the users ...");
    let main_db = scratch.database("main").await?;
    let prefix = scratch.topics("main").await?;
    let topic = Topics::with_prefix(&prefix).user_events;
    let mut main_gateway = Service::gateway(scratch, "gateway-main", &main_db, &prefix).await?;
    let first_day = Utc::now().date_naive() - TimeDelta::days(i64::from(sizes.days) + 1);
    let spec = WorkloadSpec {
        users: sizes.users,
        days: sizes.days,
        first_day,
        seed: sizes.seed,
        late_share: 0.03,
        retry_share: 0.01,
    };
    let generated = Instant::now();
    let workload: Workload = {
        let spec = spec.clone();
        tokio::task::spawn_blocking(move || wl::build(&spec)).await?
    };
    let devices_per_user = workload
        .users
        .iter()
        .map(|u| u.devices.len())
        .sum::<usize>() as f64
        / workload.users.len() as f64;
    println!(
        "  {} samples in {} requests ({:.1} devices per user, {} late, {} retried) generated in {:.1} s",
        workload.samples(),
        workload.uploads.len(),
        devices_per_user,
        workload.uploads.iter().filter(|u| u.late).count(),
        workload.uploads.iter().filter(|u| u.retry).count(),
        generated.elapsed().as_secs_f64()
    );
    let specs: Vec<_> = workload
        .users
        .iter()
        .map(|u| (u.timezone, u.devices.clone()))
        .collect();
    let members =
        population::create(stack, &http, &main_db, &prefix, &main_gateway.url, &specs).await?;
    let requests = load::requests(&workload.uploads, &members);
    let member_ids: Vec<uuid::Uuid> = members.iter().map(|m| m.id).collect();
    let ring = stack.keyring(&main_db, &member_ids).await?;
    report.params = json!({
        "users": sizes.users,
        "days": sizes.days,
        "repeat": repeat,
        "clients": sizes.clients,
        "processor_batch_max_messages": scratch.processor_batch,
        "processor_batch_lanes": scratch.processor_lanes,
        "seed": sizes.seed,
        "quick": sizes.quick,
        "samples": workload.samples(),
        "requests": workload.uploads.len(),
        "samples_per_request": wl::BATCH,
        "devices_per_user": (devices_per_user * 100.0).round() / 100.0,
        "late_device_days_share": spec.late_share,
        "retried_requests_share": spec.retry_share,
        "first_day": first_day.to_string(),
    });
    clock.lap("setup");

    // Figure 1: the gateway, against a raw producer sending the same events.
    println!("figure 1: gateway ingest, {} runs ...", repeat);
    let gateway_idle = main_gateway.idle_rss;
    let named = [(main_gateway.pid(), "gateway")];
    let cpu_before = cpu::snapshot(&named);
    let sent = gateway::ingest(&http, &main_gateway.url, &requests, repeat, sizes.clients).await?;
    let gateway_cpu = cpu::cores(&cpu_before, &cpu::snapshot(&named));
    println!("      cores: {}", cpu::describe(&gateway_cpu));
    let gateway_rates: Vec<f64> = sent.iter().map(|s| s.samples_per_second()).collect();
    let accepted = accepted_samples(&http, &main_gateway.url).await?;
    let cap = (workload.samples() / repeat).clamp(1, 2_000_000);
    let captured = gateway::capture(stack, &topic, cap, &ring).await?;
    let raw_prefix = scratch.topics("raw").await?;
    let raw_topic = Topics::with_prefix(&raw_prefix).user_events;
    let mut raw_rates = Vec::new();
    for _ in 0..repeat {
        let rate = gateway::raw_produce(stack, &raw_topic, &captured).await?;
        println!("    raw producer run: {rate:.0} samples/s");
        raw_rates.push(rate);
    }
    drop(captured);
    report.add(
        Figure::new("1", "Gateway: samples/s acknowledged", "samples/s")
            .measured(
                &gateway_rates,
                "raw rdkafka producer, same events",
                &raw_rates,
            )
            .check(Check::ratio_at_least(0.5))
            .check(Check::value_at_least(100_000.0))
            .extra("clients", json!(sizes.clients))
            .extra(
                "samples_acknowledged",
                json!(sent.iter().map(|s| s.samples).sum::<u64>()),
            )
            .extra("samples_appended", json!(accepted))
            .extra("cpu_cores", cpu::to_json(&gateway_cpu)),
    );
    // Figure 1b: the same requests, in the same slices, to an endpoint that only parses them.
    println!("figure 1b: a minimal endpoint parsing the same requests, {repeat} runs ...");
    let stop_minimal = tokio_util::sync::CancellationToken::new();
    let minimal_url = minimal::serve(stop_minimal.clone()).await?;
    let mut minimal_rates = Vec::new();
    for slice in requests.chunks(requests.len().div_ceil(repeat.max(1)).max(1)) {
        let sent =
            load::closed_loop(&http, &minimal_url, Arc::new(slice.to_vec()), sizes.clients).await?;
        println!(
            "    minimal endpoint run: {:.0} samples/s",
            sent.samples_per_second()
        );
        minimal_rates.push(sent.samples_per_second());
    }
    stop_minimal.cancel();
    report.add(
        Figure::new("1b", "Gateway vs a minimal endpoint parsing the same bodies", "samples/s")
            .measured(
                &gateway_rates,
                "a warp endpoint that parses each body into typed samples and answers 200",
                &minimal_rates,
            )
            .check(Check::ratio_at_least(0.5))
            .check(Check::value_at_least(200_000.0))
            .note("the minimal endpoint runs in the bench's process, beside the load it answers; the gateway in its own"),
    );
    clock.lap("figure 1");

    // Figure 3: consume + decode against a raw consumer.
    if sizes.wants(3) {
        println!("figure 3: consume and decode, {} runs ...", repeat);
        let ends = super::env::watermarks(&stack.brokers, &topic).await?;
        let share = (2_000_000.0 / accepted.max(1) as f64).min(1.0);
        let stops = decode::stops(&ends, share);
        let (mut decoded, mut raw) = (Vec::new(), Vec::new());
        for _ in 0..repeat {
            let r = decode::consume(stack, &topic, &stops, false, &ring).await?;
            let d = decode::consume(stack, &topic, &stops, true, &ring).await?;
            let samples = d.samples as f64;
            println!(
                "    {} messages, {} samples: raw {:.2} s, decoded {:.2} s",
                d.messages, d.samples, r.seconds, d.seconds
            );
            raw.push(samples / r.seconds);
            decoded.push(samples / d.seconds);
        }
        report.add(
            Figure::new("3", "Decode only: consume + Avro decode", "samples/s")
                .measured(&decoded, "raw rdkafka consumer, same messages", &raw)
                .check(Check::ratio_at_least(0.7)),
        );
        clock.lap("figure 3");
    }

    // Figure 2: the processor from a full topic into an empty database, against COPY.
    println!(
        "figure 2: processor from a full topic into an empty database, {} runs ...",
        repeat
    );
    let mut passes = Vec::new();
    main_gateway.check_alive()?;
    passes.push(
        processor::pass(
            scratch,
            &http,
            "processor-pass1",
            (&main_db, &main_db),
            &prefix,
            accepted,
        )
        .await?,
    );
    for r in 1..repeat {
        let db = scratch.database(&format!("pass{}", r + 1)).await?;
        let pass = processor::pass(
            scratch,
            &http,
            &format!("processor-pass{}", r + 1),
            (&db, &main_db),
            &prefix,
            accepted,
        )
        .await;
        scratch.drop_database(&db).await?;
        passes.push(pass?);
    }
    let stored = processor::dump_samples(&main_db).await?;
    let rows = stored.len() as u64;
    let copy_db = scratch.database("copy").await?;
    let mut copy_rates = Vec::new();
    for _ in 0..repeat {
        let rate = processor::copy_samples(&copy_db, &stored).await?;
        println!("    COPY: {rows} rows at {rate:.0} rows/s");
        copy_rates.push(rate);
    }
    drop(stored);
    scratch.drop_database(&copy_db).await?;
    let processor_rates: Vec<f64> = passes.iter().map(|p| p.samples_per_second).collect();
    let reread = quantile(
        &passes
            .iter()
            .map(|p| p.rows_loaded_per_sample)
            .collect::<Vec<_>>(),
        0.5,
    );
    report.add(
        Figure::new("2", "Aggregation processor: full topic → empty database", "samples/s")
            .measured(&processor_rates, "binary COPY of the same rows into samples", &copy_rates)
            .baseline_unit("rows/s")
            .check(Check::ratio_at_least(0.5))
            .check(Check::value_at_least(50_000.0))
            .extra("samples", json!(accepted))
            .extra("cpu_cores_first_run", cpu::to_json(&passes[0].cpu))
            .extra("rows_stored", json!(rows))
            .extra("stored_rows_reread_per_sample", json!(reread))
            .note(format!(
                "the processor read back {} stored rows per sample it processed to recompute month and week buckets",
                number(reread)
            )),
    );
    clock.lap("figure 2");
    let fig2_median = quantile(&processor_rates, 0.5);

    // Figure 12: bytes per sample on the topic and in the tables figure 2's first run wrote.
    if sizes.wants(12) {
        println!("figure 12: storage, bytes per sample ...");
        storage::figure(stack, &mut report, &topic, accepted, &main_db, rows).await?;
        clock.lap("figure 12");
    }

    // Figure 7: replay from offset 0 into an empty schema beside the live projections.
    if sizes.wants(7) {
        println!(
            "figure 7: replay from offset 0 into an empty schema, {} runs ...",
            repeat
        );
        let mut replays = Vec::new();
        for r in 0..repeat {
            let schema = format!("replay{}", r + 1);
            let url = processor::empty_schema(&main_db, &schema).await?;
            let pass = processor::pass(
                scratch,
                &http,
                &format!("processor-replay{}", r + 1),
                (&url, &main_db),
                &prefix,
                accepted,
            )
            .await;
            processor::drop_schema(&main_db, &schema).await?;
            passes.push(pass?);
            replays.push(passes.last().expect("just pushed").samples_per_second);
        }
        report.add(
            Figure::new("7", "Replay from offset 0 into an empty schema", "samples/s")
                .measured(&replays, "figure 2 median", &vec![fig2_median; replays.len()])
                .check(Check::ratio_at_least(1.0))
                .note("the empty schema sits in the database that holds the live projections of figure 2's first run"),
        );
        clock.lap("figure 7");
    }

    // The live pipeline on the main database: figures 5, 6, 5b, 13 and 8.
    let max_rate = quantile(&gateway_rates, 0.5).min(fig2_median);
    let mut live_peak = None;
    if [5, 6, 8, 13].into_iter().any(|n| sizes.wants(n)) {
        let main = live_phase::Main {
            scratch,
            sizes,
            http: &http,
            db: &main_db,
            prefix: &prefix,
            gateway: &main_gateway,
            members: &members,
            first_day,
        };
        live_peak = Some(live_phase::run(&main, &mut report, &mut clock, max_rate).await?);
    }
    let gateway_peak = main_gateway.stop().await?;

    // Figure 9: memory.
    let mut processor_peaks: Vec<f64> = passes.iter().map(|p| p.peak_rss as f64 / MIB).collect();
    processor_peaks.extend(live_peak.map(|p| p as f64 / MIB));
    let processor_idle: Vec<f64> = passes.iter().map(|p| p.idle_rss as f64 / MIB).collect();
    report.add(
        Figure::new("9a", "Peak RSS of the gateway", "MiB")
            .measured(
                &[gateway_peak as f64 / MIB],
                "RSS after start-up",
                &[gateway_idle as f64 / MIB],
            )
            .check(Check::value_below(150.0))
            .note("one gateway process served figures 1, 5, 5b, 6, 8 and 13"),
    );
    report.add(
        Figure::new("9b", "Peak RSS of the processor", "MiB")
            .measured(&processor_peaks, "RSS after start-up", &processor_idle)
            .check(Check::value_below(500.0))
            .note("one process per run of figures 2 and 7 (each working off the whole topic), plus the live processor (figures 5, 5b, 6, 8 and 13); the insights processor is figure 13d"),
    );

    if sizes.wants(4) {
        dedup::figure(scratch, sizes, &http, &mut report, &main_db, first_day).await?;
        clock.lap("figure 4");
    }
    if sizes.wants(10) {
        growth::figures(scratch, sizes, &http, &mut report).await?;
        clock.lap("figure 10");
    }
    if sizes.wants(11) {
        sealing::figure(
            scratch,
            sizes,
            &http,
            &mut report,
            &workload.uploads,
            &specs,
        )
        .await?;
        clock.lap("figure 11");
    }
    report.timings = clock.laps;
    report.notes.push(format!(
        "measured on a shared {}-core machine that other developers use at the same time; each figure is the median of {} runs with the range in brackets",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        repeat
    ));
    Ok(report)
}

/// Samples the gateway appended to Kafka (retries answered from the idempotency store are
/// acknowledged but not appended again).
pub(crate) async fn accepted_samples(http: &reqwest::Client, gateway: &str) -> Result<u64> {
    let metrics = scrape(http, &format!("{gateway}/metrics")).await?;
    Ok(metrics
        .get("healthpipe_gateway_samples_total{outcome=\"accepted\"}")
        .copied()
        .context("the gateway reports no accepted samples")? as u64)
}
