//! Figure 11: what sealing every event costs. The same workload goes through two gateways of
//! the same build, one sealing every event as a served gateway does, one told to write them
//! in clear (the `unsealed-for-benchmarks` feature, `HEALTHPIPE_BENCH_UNSEALED=1`), each
//! with accounts, a topic and a database of its own; the runs alternate, slice by slice.
//! Then the aggregation processor works each topic off into empty databases, alternating.
//! Both sides keep everything else: TLS to PostgreSQL, and the processor stores a sample's
//! free text sealed either way.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use chrono_tz::Tz;
use healthpipe_schemas::{Event, EventCodec, SamplesRecorded, Topics, Written};
use rdkafka::Message;
use serde_json::json;

use super::env::{watermarks, Scratch, Service};
use super::gateway;
use super::load::{self, Request};
use super::population;
use super::processor;
use super::report::{quantile, Check, Figure, Report};
use super::workload::Upload;
use crate::Sizes;

/// One side of the comparison.
struct Side {
    label: &'static str,
    db: String,
    prefix: String,
    gateway: Service,
    requests: Vec<Request>,
    gateway_rates: Vec<f64>,
    processor_rates: Vec<f64>,
}

impl Side {
    async fn new(
        scratch: &Scratch,
        http: &reqwest::Client,
        label: &'static str,
        in_clear: bool,
        uploads: &[Upload],
        specs: &[(Tz, Vec<(&'static str, String)>)],
    ) -> Result<Side> {
        let db = scratch.database(label).await?;
        let prefix = scratch.topics(label).await?;
        let env: &[(&str, String)] = match in_clear {
            true => &[("HEALTHPIPE_BENCH_UNSEALED", "1".to_string())],
            false => &[],
        };
        let name = format!("gateway-{label}");
        let gateway = Service::gateway_with(scratch, &name, &db, &prefix, env).await?;
        let members =
            population::create(&scratch.stack, http, &db, &prefix, &gateway.url, specs).await?;
        Ok(Side {
            label,
            requests: load::requests(uploads, &members),
            db,
            prefix,
            gateway,
            gateway_rates: Vec::new(),
            processor_rates: Vec::new(),
        })
    }

    /// Whether its gateway wrote the samples sealed: the first `SamplesRecorded` of its
    /// topic tells (the bench announces the accounts itself, always sealed).
    async fn writes_sealed(&self, scratch: &Scratch) -> Result<bool> {
        let stack = &scratch.stack;
        let topic = Topics::with_prefix(&self.prefix).user_events;
        let ends = watermarks(&stack.brokers, &topic).await?;
        let consumer = gateway::assigned_consumer(stack, &topic, &ends)?;
        let codec = EventCodec::new(&stack.registry_url);
        loop {
            let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
                .await
                .context("no samples on the topic within 30 s")??;
            let payload = message.payload().unwrap_or_default();
            if codec.record_name(payload).await? != SamplesRecorded::FULL_NAME {
                continue;
            }
            return Ok(match codec.written(payload).await? {
                Written::Sealed => true,
                Written::InClear(_) => false,
                Written::Erasure => bail!("an erasure named SamplesRecorded"),
            });
        }
    }
}

pub async fn figure(
    scratch: &Scratch,
    sizes: &Sizes,
    http: &reqwest::Client,
    report: &mut Report,
    uploads: &[Upload],
    specs: &[(Tz, Vec<(&'static str, String)>)],
) -> Result<()> {
    let repeat = sizes.repeat;
    println!("figure 11: sealed against in clear, gateway and processor, {repeat} runs each ...");
    let mut sides = [
        Side::new(scratch, http, "sealed", false, uploads, specs).await?,
        Side::new(scratch, http, "clear", true, uploads, specs).await?,
    ];
    let per_run = sides[0].requests.len().div_ceil(repeat).max(1);
    for run in 0..repeat {
        for side in &mut sides {
            let slice: Vec<Request> = side
                .requests
                .chunks(per_run)
                .nth(run)
                .unwrap_or_default()
                .to_vec();
            let sent =
                load::closed_loop(http, &side.gateway.url, Arc::new(slice), sizes.clients).await?;
            println!(
                "    gateway {}: {:.0} samples/s",
                side.label,
                sent.samples_per_second()
            );
            side.gateway_rates.push(sent.samples_per_second());
        }
    }
    for (side, sealed) in sides.iter().zip([true, false]) {
        if side.writes_sealed(scratch).await? != sealed {
            bail!(
                "the {} gateway did not write as asked: is this the benchmark build \
                 (`scripts/bench` builds it with the unsealed-for-benchmarks feature)?",
                side.label
            );
        }
    }
    let mut accepted = Vec::new();
    for side in &sides {
        accepted.push(crate::run::accepted_samples(http, &side.gateway.url).await?);
    }
    for run in 0..repeat {
        for (side, samples) in sides.iter_mut().zip(&accepted) {
            let db = match run {
                0 => side.db.clone(),
                _ => {
                    scratch
                        .database(&format!("{}_pass{}", side.label, run + 1))
                        .await?
                }
            };
            let name = format!("processor-{}-pass{}", side.label, run + 1);
            let pass = processor::pass(
                scratch,
                http,
                &name,
                (&db, &side.db),
                &side.prefix,
                *samples,
            )
            .await;
            if run > 0 {
                scratch.drop_database(&db).await?;
            }
            side.processor_rates.push(pass?.samples_per_second);
        }
    }
    let [sealed, clear] = sides;
    report.add(
        Figure::new("11a", "Gateway sealing every event", "samples/s")
            .measured(
                &sealed.gateway_rates,
                "the same build writing events in clear",
                &clear.gateway_rates,
            )
            .check(Check::ratio_at_least(0.9))
            .extra("clients", json!(sizes.clients))
            .note("runs alternate between the two gateways, one slice of the workload each"),
    );
    report.add(
        Figure::new(
            "11b",
            "Aggregation processor opening every event",
            "samples/s",
        )
        .measured(
            &sealed.processor_rates,
            "the same processor on events in clear",
            &clear.processor_rates,
        )
        .check(Check::ratio_at_least(0.9))
        .extra("samples", json!(accepted[0]))
        .note("both store a sample's free text sealed; runs alternate between the two topics"),
    );
    println!(
        "    medians: gateway {:.0} sealed / {:.0} clear, processor {:.0} sealed / {:.0} clear",
        quantile(&sealed.gateway_rates, 0.5),
        quantile(&clear.gateway_rates, 0.5),
        quantile(&sealed.processor_rates, 0.5),
        quantile(&clear.processor_rates, 0.5),
    );
    sealed.gateway.stop().await?;
    clear.gateway.stop().await?;
    Ok(())
}
