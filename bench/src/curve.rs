//! Figure 5b: the freshness curve. After figures 5 and 6, the same live pipeline takes the
//! load at a quarter, a half and three quarters of the rate the processor sustains (the
//! `max_rate` of figure 5), one window each with freshness probes and the Kafka round trip
//! and without query clients; each level is a figure of its own (`5b 25%`, `5b 50%`,
//! `5b 75%`). The target, freshness under a second, holds up to half the rate; three
//! quarters is reported without a target.

use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::json;

use super::cpu;
use super::env::ProcessorCounters;
use super::live_phase::Live;
use super::report::{number, quantile, Check, Figure, Report};

/// The levels, as shares of the processor's rate, and whether the target applies.
const LEVELS: [(f64, bool); 3] = [(0.25, true), (0.5, true), (0.75, false)];

/// One window per level.
const WINDOW: Duration = Duration::from_secs(10);

/// The samples the load of the three windows sends at most.
pub fn samples_needed(max_rate: f64) -> f64 {
    LEVELS
        .iter()
        .map(|(share, _)| rate(max_rate, *share) * WINDOW.as_secs_f64())
        .sum()
}

fn rate(max_rate: f64, share: f64) -> f64 {
    (max_rate * share).max(1_000.0)
}

pub async fn figure(live: &mut Live<'_>, report: &mut Report, max_rate: f64) -> Result<()> {
    println!(
        "figure 5b: freshness at 25, 50 and 75% of {max_rate:.0} samples/s, {} s each ...",
        WINDOW.as_secs()
    );
    for (share, targeted) in LEVELS {
        let rate = rate(max_rate, share);
        let percent = format!("{:.0}%", share * 100.0);
        println!(
            "  {percent}: {} s of load at {rate:.0} samples/s with probes ...",
            WINDOW.as_secs()
        );
        let before = ProcessorCounters::read(live.http, &live.processor.url).await?;
        let started = Instant::now();
        let named = [
            (live.gateway.pid(), "gateway"),
            (live.processor.pid(), "processor"),
        ];
        let cpu_before = cpu::snapshot(&named);
        let window = live.window(rate, WINDOW, None).await?;
        let cores = cpu::cores(&cpu_before, &cpu::snapshot(&named));
        let fresh = &window.freshness;
        let (p50, p99) = (quantile(&fresh.ms, 0.5), quantile(&fresh.ms, 0.99));
        println!(
            "    sent {:.0} samples/s; freshness p50 {p50:.0} ms p99 {p99:.0} ms ({} probes, {} lost, {} skipped); Kafka round trip p99 {:.1} ms",
            window.sent.samples_per_second(),
            fresh.ms.len(),
            fresh.lost,
            fresh.skipped,
            quantile(&window.kafka_ms, 0.99),
        );
        println!("      cores: {}", cpu::describe(&cores));
        let busy = live.settle(before, started).await?;
        let mut figure = Figure::new(
            format!("5b {percent}"),
            format!("Freshness p99 at {percent} of the processor's rate"),
            "ms",
        )
        .measured(
            &[p99],
            "Kafka produce → consume p99",
            &[quantile(&window.kafka_ms, 0.99)],
        )
        .extra("p50_ms", json!(p50))
        .extra("kafka_p50_ms", json!(quantile(&window.kafka_ms, 0.5)))
        .extra("share_of_max_rate", json!(share))
        .extra("max_rate_samples_per_second", json!(max_rate))
        .extra("target_samples_per_second", json!(rate))
        .extra(
            "load_samples_per_second",
            json!(window.sent.samples_per_second()),
        )
        .extra("probes", json!(fresh.ms.len() + fresh.lost))
        .extra("lost_probes", json!(fresh.lost))
        .extra("skipped_probes", json!(fresh.skipped))
        .extra("processor_busy_share", json!(busy))
        .extra("cpu_cores", cpu::to_json(&cores));
        figure = if targeted {
            figure.check(Check::value_below(1_000.0))
        } else {
            figure.note("reported without a target: the design asks for freshness under a second up to half the rate")
        };
        report.add(figure.note(format!(
            "{} s of load at {percent} of {} samples/s (figure 2's processor rate, or figure 1's gateway rate if lower: the rate figure 5 halves) = {} samples/s, sent {}; a probe every 100 ms (at most 20 pending, the others skipped) polled every 20 ms for 1 s, then every 250 ms: {} probes, {} lost, {} skipped; p50 {} ms; no query clients (figure 5 has them); after figure 5's windows, on the same gateway and processor",
            WINDOW.as_secs(),
            number(max_rate),
            number(rate),
            number(window.sent.samples_per_second()),
            fresh.ms.len() + fresh.lost,
            fresh.lost,
            fresh.skipped,
            number(p50),
        )));
    }
    Ok(())
}
