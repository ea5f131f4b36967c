//! `healthpipe retention`: removes what the retention horizons no longer keep (see
//! `healthpipe_domain::retention` for the table of horizons). Runs once (a Kubernetes CronJob)
//! or, with `--every`, on a schedule in the process (the local stack).

use std::time::Duration;

use anyhow::{Context, Result};
use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use healthpipe_domain::{Horizons, TYPES};
use healthpipe_storage::archive;
use healthpipe_storage::retention::{self, Cutoffs, Removed};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, clap::Args)]
pub struct RetentionArgs {
    /// Print per table what would go, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Apply the horizons of this UTC day (YYYY-MM-DD) instead of today's: to see what a later
    /// run will remove, or to rehearse one (a processor or replay given the same day with
    /// RETENTION_AS_OF agrees with it) [default: today].
    #[arg(long, env = "RETENTION_AS_OF")]
    pub as_of: Option<NaiveDate>,
    /// Run again every this many seconds until interrupted [default: once].
    #[arg(long, env = "RETENTION_EVERY_SECS")]
    pub every: Option<u64>,
    /// The cold tier (`healthpipe archive`'s ARCHIVE_URL): when set, raw samples are removed
    /// only from months the archive holds, current [default: no archive, no such wait].
    #[arg(long, env = "ARCHIVE_URL")]
    pub archive_url: Option<String>,
    #[arg(long, env = "DATABASE_URL", hide_env_values = true,
          value_parser = healthpipe_config::database_url)]
    pub database_url: String,
}

/// Runs retention once, or every `--every` seconds until `shutdown`.
pub async fn run(args: RetentionArgs, shutdown: CancellationToken) -> Result<()> {
    let pool = healthpipe_storage::connect(&args.database_url, 1)?;
    let mut client = pool.get().await.context("connecting to PostgreSQL")?;
    if !retention::compression_available(&client).await? {
        tracing::info!(
            "TimescaleDB's Apache edition runs: no compression of old chunks (the warm tier \
             needs the community edition); retention and the archive work as usual"
        );
    }
    loop {
        let mut cutoffs = cutoffs(args.as_of);
        if args.archive_url.is_some() {
            cutoffs.samples_until = archived_until(&client, cutoffs.horizons.samples).await?;
        }
        let removed = if args.dry_run {
            retention::preview(&client, &cutoffs).await?
        } else {
            retention::run(&mut client, &cutoffs).await?
        };
        print(&cutoffs, &removed, args.dry_run);
        let Some(every) = args.every else {
            return Ok(());
        };
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(every)) => {}
            _ = shutdown.cancelled() => return Ok(()),
        }
    }
}

/// The cut-offs of a run on `as_of` (today when `None`).
pub fn cutoffs(as_of: Option<NaiveDate>) -> Cutoffs {
    let horizons = Horizons::as_of(as_of);
    Cutoffs {
        horizons,
        samples_until: horizons.samples,
        longest_sample: longest_sample(),
        now: Utc::now(),
    }
}

/// How far samples may go while the archive must hold them first: the raw-sample `horizon`,
/// or the start of the earliest month beyond it that the archive does not hold (current) yet.
async fn archived_until(
    client: &impl healthpipe_storage::GenericClient,
    horizon: DateTime<Utc>,
) -> Result<DateTime<Utc>> {
    let archived: HashSet<(String, NaiveDate)> =
        archive::archived_months(client, archive::Relation::Samples)
            .await?
            .into_iter()
            .collect();
    let missing = retention::sample_months(client, horizon)
        .await?
        .into_iter()
        .filter(|month| !archived.contains(month))
        .map(|(_, month)| month)
        .min();
    let Some(month) = missing else {
        return Ok(horizon);
    };
    let start = month
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc();
    tracing::info!(
        month = %month,
        "samples from this month on wait for the archive (run healthpipe archive first)"
    );
    Ok(start.min(horizon))
}

/// The longest duration any sample type allows.
fn longest_sample() -> TimeDelta {
    TYPES
        .iter()
        .map(|t| t.sample_type.max_duration())
        .max()
        .unwrap_or(TimeDelta::days(1))
}

fn print(cutoffs: &Cutoffs, removed: &[Removed], dry_run: bool) {
    let verb = if dry_run { "would remove" } else { "removed" };
    println!("retention as of {} (UTC):", cutoffs.horizons.day);
    let width = removed.iter().map(|r| r.what.len()).max().unwrap_or(0);
    for r in removed {
        println!(
            "  {:<width$}  {verb} {:>9} rows  ({})",
            r.what, r.rows, r.rule
        );
    }
}
