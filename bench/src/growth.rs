//! Figure 10: figures 2 and 6 as history grows. The same users get 1×, 4× and 16× the
//! workload's days of history (copied in and aggregated by the processor, see `history`);
//! then each run syncs one more day of every user through the gateway and times the processor
//! working it off, and figure 6's query clients ask their queries (10b and 10c report the day
//! of samples and the year of days; the summary and insights run too, so the load is 6's). The
//! new days are the last days of a month, so the month bucket they touch holds as much of the
//! history as a month can.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use chrono::{Datelike, NaiveDate, TimeDelta, Utc};

use super::env::{drain, topic_messages, ProcessorCounters, Scratch, Service};
use super::history;
use super::load::{self, Request};
use super::population;
use super::queries::{self, Latencies, Targets};
use super::report::{number, quantile, stat_json, Check, Figure, Report};
use super::workload::{body, user_spec, WorkloadSpec, BATCH};
use super::Sizes;
use crate::realistic::generate_realistic;
use healthpipe_schemas::Topics;
use serde_json::json;

/// What one history length measured.
#[derive(Debug, Clone)]
pub struct Level {
    pub multiple: u32,
    pub history_days: u32,
    pub history_samples: u64,
    /// Samples per second of each run's new day.
    pub rates: Vec<f64>,
    pub rows_loaded_per_sample: Vec<f64>,
    pub queries: Vec<Latencies>,
}

/// The last day of the month before the current one, or the day before yesterday if that is
/// earlier (a night's sleep ends the next morning, which must not lie in the future).
pub fn end_of_last_month() -> NaiveDate {
    let today = Utc::now().date_naive();
    let end = today.with_day(1).expect("day 1 exists") - TimeDelta::days(1);
    end.min(today - TimeDelta::days(2))
}

#[allow(clippy::too_many_arguments)]
pub async fn level(
    scratch: &Scratch,
    http: &reqwest::Client,
    multiple: u32,
    base_days: u32,
    users: usize,
    runs: usize,
    seed: u64,
    query_seconds: u64,
) -> Result<Level> {
    let history_days = base_days * multiple;
    let first_new = end_of_last_month() - TimeDelta::days(runs as i64 - 1);
    let first_day = first_new - TimeDelta::days(history_days.into());
    let label = format!("growth{multiple}x");
    let db = scratch.database(&label).await?;
    let prefix = scratch.topics(&label).await?;
    let topic = Topics::with_prefix(&prefix).user_events;
    let gateway = Service::gateway(scratch, &format!("gateway-{label}"), &db, &prefix).await?;
    let spec = WorkloadSpec {
        users,
        days: history_days + runs as u32,
        first_day,
        seed: seed ^ 0x6720,
        late_share: 0.0,
        retry_share: 0.0,
    };
    let (specs, devices) = tokio::task::spawn_blocking(move || {
        (0..spec.users)
            .map(|u| {
                let user = user_spec(&spec, u);
                let devices = generate_realistic(&user);
                let kinds = devices
                    .iter()
                    .map(|d| (d.device_type, d.identifier.clone()))
                    .collect();
                ((user.timezone, kinds), devices)
            })
            .unzip::<_, _, Vec<_>, Vec<_>>()
    })
    .await?;
    let members =
        population::create(&scratch.stack, http, &db, &prefix, &gateway.url, &specs).await?;
    let history_samples = history::copy(&db, &members, &devices, 0..history_days as usize).await?;
    population::recompute_everything(&scratch.stack, &db, &prefix, &members).await?;
    let group = format!("{prefix}-aggregation");
    let started = std::time::Instant::now();
    let mut processor = Service::processor(
        scratch,
        &format!("processor-{label}-setup"),
        (&db, &db),
        &prefix,
        &group,
    )
    .await?;
    let total = topic_messages(&scratch.stack.brokers, &topic).await? as f64;
    drain(
        http,
        &mut processor,
        ProcessorCounters::default(),
        total,
        Duration::from_secs(1800),
    )
    .await?;
    let setup_peak = processor.stop().await?;
    println!(
        "    {multiple}× history: {history_samples} samples of {history_days} days copied and aggregated in {:.0} s (processor peak RSS {} MiB)",
        started.elapsed().as_secs_f64(),
        setup_peak >> 20
    );

    let mut level = Level {
        multiple,
        history_days,
        history_samples,
        rates: Vec::new(),
        rows_loaded_per_sample: Vec::new(),
        queries: Vec::new(),
    };
    for run in 0..runs {
        let day = history_days as usize + run;
        let mut requests = Vec::new();
        for (member, user_devices) in members.iter().zip(&devices) {
            for (d, device) in user_devices.iter().enumerate() {
                for chunk in device.days[day].chunks(BATCH) {
                    requests.push(Request {
                        path: member.sync_path(d),
                        token: member.token.clone(),
                        body: body(chunk, member.timezone),
                        samples: chunk.len(),
                    });
                }
            }
        }
        let samples: usize = requests.iter().map(|r| r.samples).sum();
        let before = topic_messages(&scratch.stack.brokers, &topic).await?;
        load::closed_loop(http, &gateway.url, Arc::new(requests), 8).await?;
        let new = topic_messages(&scratch.stack.brokers, &topic).await? - before;
        let mut processor = Service::processor(
            scratch,
            &format!("processor-{label}-{run}"),
            (&db, &db),
            &prefix,
            &group,
        )
        .await?;
        let drained = drain(
            http,
            &mut processor,
            ProcessorCounters::default(),
            new as f64,
            Duration::from_secs(600),
        )
        .await?;
        processor.stop().await?;
        level.rates.push(samples as f64 / drained.seconds);
        level
            .rows_loaded_per_sample
            .push(drained.rows_loaded / samples.max(1) as f64);
    }
    let last_day = first_new + TimeDelta::days(runs as i64 - 1);
    let targets = Arc::new(Targets {
        gateway: gateway.url.clone(),
        database_url: db.clone(),
        year: members.iter().map(|m| (m.clone(), last_day)).collect(),
        days: members
            .iter()
            .flat_map(|m| {
                (0..history_days.min(28))
                    .map(move |back| (m.clone(), last_day - TimeDelta::days(back.into())))
            })
            .collect(),
    });
    for _ in 0..runs {
        level.queries.push(
            queries::run(http, targets.clone(), 4, Duration::from_secs(query_seconds)).await?,
        );
    }
    gateway.stop().await?;
    scratch.drop_database(&db).await?;
    Ok(level)
}

/// Figure 10: the new-day processing rate and the query latencies at 1×, 4× and 16× history.
pub async fn figures(
    scratch: &Scratch,
    sizes: &Sizes,
    http: &reqwest::Client,
    report: &mut Report,
) -> Result<()> {
    let users = if sizes.quick { 3 } else { 30 };
    let query_seconds = if sizes.quick { 2 } else { 3 };
    let mut levels = Vec::new();
    for multiple in [1u32, 4, 16] {
        println!(
            "figure 10: {users} users with {multiple}× history ({} days), {} runs ...",
            sizes.days * multiple,
            sizes.repeat
        );
        let level = level(
            scratch,
            http,
            multiple,
            sizes.days,
            users,
            sizes.repeat,
            sizes.seed,
            query_seconds,
        )
        .await?;
        println!(
            "    new day: {:?} samples/s, {:?} rows re-read per sample; year of days p99 {:.1} ms, day of samples p99 {:.1} ms",
            level.rates.iter().map(|r| r.round()).collect::<Vec<_>>(),
            level.rows_loaded_per_sample.iter().map(|r| (r * 10.0).round() / 10.0).collect::<Vec<_>>(),
            quantile(&level.queries.iter().map(|q| quantile(&q.year_ms, 0.99)).collect::<Vec<_>>(), 0.5),
            quantile(&level.queries.iter().map(|q| quantile(&q.day_ms, 0.99)).collect::<Vec<_>>(), 0.5),
        );
        levels.push(level);
    }
    let base = &levels[0];
    let base_rate = base.rates.clone();
    let p99 = |l: &Level, year: bool| -> Vec<f64> {
        l.queries
            .iter()
            .map(|q| quantile(if year { &q.year_ms } else { &q.day_ms }, 0.99))
            .collect()
    };
    let previous = |level: &Level| -> &Level {
        let i = levels
            .iter()
            .position(|l| l.multiple == level.multiple)
            .unwrap_or(1);
        &levels[i.saturating_sub(1)]
    };
    for level in &levels[1..] {
        let m = level.multiple;
        report.add(
            Figure::new(
                format!("10a {m}×"),
                format!("Growth: processing a new day, {m}× history"),
                "samples/s",
            )
            .measured(&level.rates, "same at 1× history", &base_rate)
            .check(Check::ratio_at_least(0.8))
            .extra("history_days", json!(level.history_days))
            .extra("history_samples", json!(level.history_samples))
            .extra(
                "rows_reread_per_sample",
                json!(stat_json(&level.rows_loaded_per_sample)),
            )
            .note(format!(
                "{} rows re-read per new sample vs {} at 1×; {} samples/s ÷ the previous history length's {} = {} (the month bucket a new day touches holds at most a month of history)",
                number(quantile(&level.rows_loaded_per_sample, 0.5)),
                number(quantile(&base.rows_loaded_per_sample, 0.5)),
                number(quantile(&level.rates, 0.5)),
                number(quantile(&previous(level).rates, 0.5)),
                number(quantile(&level.rates, 0.5) / quantile(&previous(level).rates, 0.5))
            )),
        );
    }
    let mean = |level: &Level, pick: fn(&Latencies) -> f64| -> f64 {
        level.queries.iter().map(pick).sum::<f64>() / level.queries.len().max(1) as f64
    };
    for level in &levels[1..] {
        let m = level.multiple;
        report.add(
            Figure::new(
                format!("10b {m}×"),
                format!("Growth: day of samples p99 (API, first page), {m}× history"),
                "ms",
            )
            .measured(&p99(level, false), "same at 1× history", &p99(base, false))
            .check(Check::ratio_at_most(1.5))
            .check(Check::value_below(20.0))
            .extra("samples_per_answer", json!(mean(level, |q| q.day_rows)))
            .extra("share_with_next_page", json!(mean(level, |q| q.day_more)))
            .note(format!(
                "GET /api/v1/samples for one local day of the last 28, limit={} (figure 6b's request), first page only; {} samples an answer vs {} at 1×",
                queries::DAY_PAGE,
                number(mean(level, |q| q.day_rows)),
                number(mean(base, |q| q.day_rows))
            )),
        );
        report.add(
            Figure::new(format!("10c {m}×"), format!("Growth: year of days p99, {m}× history"), "ms")
                .measured(&p99(level, true), "same at 1× history", &p99(base, true))
                .check(Check::value_below(20.0))
                .note(format!(
                    "answers hold {} rows vs {} at 1× (the history is shorter than the year asked for): this work grows with history by design",
                    number(mean(level, |q| q.year_rows)),
                    number(mean(base, |q| q.year_rows))
                )),
        );
    }
    Ok(())
}
