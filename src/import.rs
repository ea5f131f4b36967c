//! `healthpipe import <source> <FILE> --user <email>`: an operator imports an export into an
//! account. The same job as `POST /api/v1/imports/{source}` (the gateway's settings: the
//! database, Kafka, the registry, the key-encryption keys), recorded in the account's
//! imports like an upload, with a progress bar, and the report printed at the end.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use healthpipe_gateway::imports::{job, Counters, Phase, Report};
use healthpipe_gateway::{AppState, GatewayConfig};
use healthpipe_storage::accounts::users;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// What the file is: apple-health (export.zip or export.xml), fitbit, google-fit,
    /// withings, ihealth (API responses in the shapes Open mHealth's shimmer reads).
    #[arg(value_parser = source_names())]
    pub source: String,
    /// The file to import.
    pub file: PathBuf,
    /// The account it goes to, by e-mail.
    #[arg(long)]
    pub user: String,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

fn source_names() -> clap::builder::PossibleValuesParser {
    healthpipe_importer::connectors()
        .iter()
        .map(|c| clap::builder::PossibleValue::new(c.name()).help(c.describe()))
        .collect::<Vec<_>>()
        .into()
}

pub async fn run(args: ImportArgs) -> Result<()> {
    let connector = healthpipe_importer::connector(&args.source).expect("clap checked the source");
    if !args.file.is_file() {
        bail!("{} is not a file", args.file.display());
    }
    let state = Arc::new(AppState::connect(GatewayConfig::from_env()?).await?);
    let user_id = {
        let db = state.db.get().await?;
        let email = args.user.trim().to_lowercase();
        let id = users::id_by_email(&db, &email)
            .await?
            .ok_or_else(|| anyhow!("no account with the e-mail {email:?}"))?;
        let user = users::find(&db, id)
            .await?
            .context("the account vanished")?;
        if user.role != "user" {
            bail!(
                "{email:?} is a {} account: imports go to users' accounts",
                user.role
            );
        }
        id
    };
    let job = job::start(&state, user_id, connector, "cli", args.file.clone())
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let id = job.id;
    let bar = progress_bar(job.bytes_total, args.quiet);
    let counters = job.progress.clone();
    let running = tokio::spawn(job::run(state, job));
    let report = follow(&bar, &counters, running).await?;
    bar.finish_and_clear();
    match report {
        Ok(report) if args.json => println!("{}", serde_json::to_string_pretty(&report)?),
        Ok(report) => print_report(&id.to_string(), &report),
        Err(message) => bail!("import {id} failed: {message}"),
    }
    Ok(())
}

/// Moves the bar until the job ends.
async fn follow(
    bar: &ProgressBar,
    counters: &Counters,
    mut running: tokio::task::JoinHandle<Result<Report, String>>,
) -> Result<Result<Report, String>> {
    let mut phase_started = (None, Instant::now());
    loop {
        match tokio::time::timeout(Duration::from_millis(200), &mut running).await {
            Ok(done) => return Ok(done?),
            Err(_) => {
                let phase = counters.phase();
                if phase != phase_started.0 {
                    phase_started = (phase, Instant::now());
                    bar.reset_eta();
                }
                let records = counters.records.load(Ordering::Relaxed);
                let secs = phase_started.1.elapsed().as_secs_f64().max(0.001);
                bar.set_position(counters.bytes_read.get());
                bar.set_message(match phase {
                    Some(Phase::Processing) => "waiting for the processor to apply it".into(),
                    Some(p) => format!(
                        "{} {records} records, {:.0} records/s",
                        p.as_str(),
                        records as f64 / secs
                    ),
                    None => "starting".into(),
                });
            }
        }
    }
}

fn progress_bar(total: u64, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {bytes}/{total_bytes} {msg}, ETA {eta}")
            .expect("the template parses")
            .progress_chars("=> "),
    );
    bar
}

fn print_report(id: &str, r: &Report) {
    println!("import {id} completed");
    println!(
        "records {}: imported {}, duplicates {}, rejected {}, unmapped types {}, not imported {}",
        r.records,
        r.imported,
        r.duplicates,
        r.rejected.values().sum::<u64>(),
        r.unmapped_types.values().sum::<u64>(),
        r.not_imported.values().sum::<u64>()
    );
    for (reason, n) in &r.rejected {
        println!("  rejected {reason}: {n}");
    }
    for example in &r.rejected_examples {
        println!("    {example}");
    }
    for (t, n) in &r.unmapped_types {
        println!("  unmapped {t}: {n}");
    }
    for (what, n) in &r.not_imported {
        println!("  not imported, {what}: {n}");
    }
    println!("devices (best priority first; reorder with PATCH /api/v1/devices/{{id}}):");
    for d in &r.devices {
        let new = if d.created { "new" } else { "known" };
        println!(
            "  {:>4}  {} [{}] {new}, {} samples",
            d.priority, d.name, d.device_type, d.samples
        );
    }
    println!("types:");
    for t in &r.types {
        match (t.naive_sum, t.deduplicated_total) {
            (Some(naive), Some(dedup)) => println!(
                "  {}: {} samples; {:.1} {} deduplicated, {:.1} summed naively ({:.1} counted twice avoided)",
                t.sample_type, t.samples, dedup, t.unit, naive, naive - dedup
            ),
            _ => println!("  {}: {} samples", t.sample_type, t.samples),
        }
    }
    if !r.processed {
        println!(
            "the processor had not applied the import when the report was made: totals missing"
        );
    }
}
