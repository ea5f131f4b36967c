//! `healthpipe replay`: rebuilds a projection from the topics into a PostgreSQL schema of its
//! own while the live one keeps serving; `--switch` then swaps it in atomically, and the
//! previous tables wait in that schema until `healthpipe replay drop`.
//!
//! The replay is the aggregation processor itself, run in this process with the schema first
//! on its search path, a consumer group of its own (`healthpipe-replay-<schema>`) and its
//! positions in the schema's own `consumer_offsets`: resumable, exact, and the same code as
//! the live projection. Buckets older than the raw-sample horizon cannot be computed from the
//! log any more (see `healthpipe_domain::retention`): they are copied from the live schema.
//! Their day partials are not: every week and month still open starts at or after that
//! horizon, so the partials it is combined from are all recomputed from samples.
//!
//! The switch, in one transaction: lock the live group's positions (its next batch waits),
//! let the replay run until it has applied at least as much as the live group, stop it, swap
//! the tables, and give the live group the replay's positions. Readers wait for the swap's
//! locks for a moment and then read the new tables; none fails.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use healthpipe_domain::Horizons;
use healthpipe_processors::ProcessorConfig;
use healthpipe_storage::projections::{offsets, AGGREGATION_TABLES};
use healthpipe_storage::replay;
use indicatif::{ProgressBar, ProgressStyle};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::TopicPartitionList;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long the switch waits for the replay to reach the live group's positions.
const SWITCH_CATCH_UP: Duration = Duration::from_secs(60);

#[derive(Debug, clap::Subcommand)]
pub enum ReplayCommand {
    /// Rebuild the aggregation projection (samples, sample index, sync versions, aggregates,
    /// day partials, device rankings, time zones, share grants) into `--into <schema>`
    /// (DATABASE_URL, KAFKA_BROKERS, SCHEMA_REGISTRY_URL, KEY_ENCRYPTION_KEYS_FILE).
    Aggregation(ReplayArgs),
    /// Drop a replay's schema: the replayed tables, or after a switch the previous ones.
    Drop(DropArgs),
}

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The schema to rebuild into (lowercase letters, digits and `_`); made if missing, and
    /// a replay into an existing one resumes where it stopped.
    #[arg(long)]
    pub into: String,
    /// Replay from the start of the topic (the default; a replay into a schema that exists
    /// resumes where it stopped).
    #[arg(long, conflicts_with = "from")]
    pub from_beginning: bool,
    /// Replay only the events appended from this time on (RFC 3339): an analyst's slice, never
    /// switched in.
    #[arg(long, conflicts_with = "switch")]
    pub from: Option<DateTime<Utc>>,
    /// Once caught up, swap the replayed tables in for the live ones (atomically).
    #[arg(long)]
    pub switch: bool,
    /// The live group whose positions the switch hands over.
    #[arg(
        long,
        env = "LIVE_CONSUMER_GROUP",
        default_value = "healthpipe-aggregation"
    )]
    pub live_group: String,
    /// No progress bar (logs only), e.g. in a job.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, clap::Args)]
pub struct DropArgs {
    /// The schema to drop.
    pub schema: String,
    #[arg(long, env = "DATABASE_URL", hide_env_values = true,
          value_parser = healthpipe_config::database_url)]
    pub database_url: String,
}

/// What a replay did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    pub events: i64,
    pub frozen_buckets_copied: u64,
    pub switched: bool,
}

pub async fn run(command: ReplayCommand, shutdown: CancellationToken) -> Result<()> {
    match command {
        ReplayCommand::Aggregation(args) => {
            let config = ProcessorConfig::from_env("aggregation")?;
            let schema = args.into.clone();
            let done = aggregation(config, args, shutdown).await?;
            println!(
                "replayed {} events into schema {schema} ({} older buckets copied from the live tables)",
                done.events, done.frozen_buckets_copied
            );
            if done.switched {
                println!(
                    "switched: readers use the replayed tables; the previous ones are in schema \
                     {schema} until `healthpipe replay drop {schema}`"
                );
            } else {
                println!(
                    "the live tables are untouched; query schema {schema}, swap it in with \
                     `healthpipe replay aggregation --into {schema} --switch`, or drop it with \
                     `healthpipe replay drop {schema}`"
                );
            }
            Ok(())
        }
        ReplayCommand::Drop(args) => {
            check_schema_name(&args.schema)?;
            let pool = healthpipe_storage::connect(&args.database_url, 1)?;
            replay::drop(&pool.get().await?, &args.schema).await?;
            println!("dropped schema {}", args.schema);
            Ok(())
        }
    }
}

/// Replays the aggregation projection into `args.into` as `live` (the processors' settings
/// from the environment) describes it, and switches if asked.
pub async fn aggregation(
    live: ProcessorConfig,
    args: ReplayArgs,
    shutdown: CancellationToken,
) -> Result<Replayed> {
    let schema = args.into.as_str();
    check_schema_name(schema)?;
    let topic = live.topics.user_events.clone();
    let pool = healthpipe_storage::connect(&live.database_url, 2)?;
    let client = pool.get().await.context("connecting to PostgreSQL")?;
    let resuming = replay::exists(&client, schema).await?;
    replay::prepare(&client, schema, &AGGREGATION_TABLES).await?;
    let horizons = Horizons::as_of(live.retention_day);
    let frozen_buckets_copied = replay::copy_frozen(&client, schema, horizons.samples).await?;
    let config = ProcessorConfig {
        database_url: replay::url_in_schema(&live.database_url, schema),
        key_store_url: Some(
            live.key_store_url
                .clone()
                .unwrap_or_else(|| live.database_url.clone()),
        ),
        group_id: format!("healthpipe-replay-{schema}"),
        announce_changes: false,
        metrics_addr: None,
        ..live.clone()
    };
    let replay_pool = healthpipe_storage::connect(&config.database_url, 1)?;
    let ends = crate::progress::log_ends(&live.kafka_brokers, &topic).await?;
    if let Some(from) = args.from {
        if !resuming {
            start_at(&replay_pool, &config, &topic, &ends, from).await?;
        }
    }
    let started = stored(&replay_pool, &config.group_id, &topic).await?;
    let token = shutdown.child_token();
    let processor = spawn_processor(config.clone(), token.clone());
    let total: i64 = ends
        .iter()
        .map(|(p, end)| (end - started.get(p).copied().unwrap_or(0)).max(0))
        .sum();
    let bar = progress_bar(total, args.quiet);
    let events = loop {
        let now = stored(&replay_pool, &config.group_id, &topic).await?;
        let done: i64 = ends
            .iter()
            .map(|(p, end)| {
                let start = started.get(p).copied().unwrap_or(0);
                (now.get(p).copied().unwrap_or(0).min(*end) - start).max(0)
            })
            .sum();
        bar.set_position(done as u64);
        bar.set_message(format!("{} behind", total - done));
        if done >= total {
            break done;
        }
        if processor.is_finished() || shutdown.is_cancelled() {
            token.cancel();
            processor.await??;
            bail!("the replay stopped before catching up (run it again to resume)");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    bar.finish_with_message("caught up");
    let switched = if args.switch {
        let partitions: Vec<i32> = ends.iter().map(|(p, _)| *p).collect();
        let replaying = Replaying {
            pool: &pool,
            replay_pool: &replay_pool,
            group: &config.group_id,
            topic: &topic,
            retention_day: live.retention_day,
        };
        switch(
            &replaying,
            schema,
            &partitions,
            &args.live_group,
            token,
            processor,
        )
        .await?;
        true
    } else {
        token.cancel();
        processor.await??;
        false
    };
    Ok(Replayed {
        events,
        frozen_buckets_copied,
        switched,
    })
}

/// What the switch works with: the live database, the replay's (its schema first on the
/// search path), the replay's group and topic, and the day whose horizons apply.
struct Replaying<'a> {
    pool: &'a healthpipe_storage::Pool,
    replay_pool: &'a healthpipe_storage::Pool,
    group: &'a str,
    topic: &'a str,
    retention_day: Option<chrono::NaiveDate>,
}

/// The swap, as the module's doc says.
async fn switch(
    replaying: &Replaying<'_>,
    schema: &str,
    partitions: &[i32],
    live_group: &str,
    token: CancellationToken,
    processor: JoinHandle<Result<(), healthpipe_processors::ProcessorError>>,
) -> Result<()> {
    let Replaying {
        pool,
        replay_pool,
        group,
        topic,
        retention_day,
    } = replaying;
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let live_positions = offsets::lock(&tx, live_group, topic, partitions).await?;
    let waited = Instant::now();
    loop {
        let replayed = stored(replay_pool, group, topic).await?;
        let behind: Vec<i32> = live_positions
            .iter()
            .filter(|(p, next)| replayed.get(p).copied().unwrap_or(0) < **next)
            .map(|(p, _)| *p)
            .collect();
        if behind.is_empty() {
            break;
        }
        if waited.elapsed() > SWITCH_CATCH_UP || processor.is_finished() {
            token.cancel();
            processor.await??;
            bail!(
                "the replay did not reach the live group's positions in partitions {behind:?} \
                 within {SWITCH_CATCH_UP:?}; nothing was switched (run it again)"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Its last batch commits before it returns: the positions read next are final.
    token.cancel();
    processor.await??;
    let replayed = stored(replay_pool, group, topic).await?;
    // The horizons of now: buckets frozen since the replay started (it ran past midnight)
    // are copied too.
    let horizons = Horizons::as_of(*retention_day);
    replay::copy_frozen(&tx, schema, horizons.samples).await?;
    replay::swap(&tx, schema, &AGGREGATION_TABLES).await?;
    offsets::place(&tx, live_group, topic, &replayed).await?;
    tx.commit().await.context("committing the switch")?;
    tracing::info!(schema, live_group, "switched to the replayed tables");
    Ok(())
}

fn spawn_processor(
    config: ProcessorConfig,
    token: CancellationToken,
) -> JoinHandle<Result<(), healthpipe_processors::ProcessorError>> {
    tokio::spawn(healthpipe_processors::run_aggregation(config, token))
}

/// The replay group's stored positions, by partition.
async fn stored(
    pool: &healthpipe_storage::Pool,
    group: &str,
    topic: &str,
) -> Result<HashMap<i32, i64>> {
    Ok(offsets::load(&pool.get().await?, group, topic).await?)
}

/// Places the replay group at the first offsets appended at or after `from` (at the end,
/// `ends`, of a partition with none).
async fn start_at(
    pool: &healthpipe_storage::Pool,
    config: &ProcessorConfig,
    topic: &str,
    ends: &[(i32, i64)],
    from: DateTime<Utc>,
) -> Result<()> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &config.kafka_brokers)
        .create()
        .context("kafka client")?;
    let mut wanted = TopicPartitionList::new();
    for (partition, _) in ends {
        wanted.add_partition_offset(
            topic,
            *partition,
            rdkafka::Offset::Offset(from.timestamp_millis()),
        )?;
    }
    let found = tokio::task::spawn_blocking(move || {
        consumer.offsets_for_times(wanted, Duration::from_secs(10))
    })
    .await??;
    let end_of: HashMap<i32, i64> = ends.iter().copied().collect();
    let next: HashMap<i32, i64> = found
        .elements()
        .iter()
        .map(|e| {
            let offset = match e.offset() {
                rdkafka::Offset::Offset(o) => o,
                // No message at or after `from`: start at the end.
                _ => end_of.get(&e.partition()).copied().unwrap_or(0),
            };
            (e.partition(), offset)
        })
        .collect();
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    offsets::place(&tx, &config.group_id, topic, &next).await?;
    tx.commit().await?;
    Ok(())
}

fn progress_bar(total: i64, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total.max(0) as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} replay [{bar:30}] {pos}/{len} events, {per_sec}, {msg}, ETA {eta}",
        )
        .expect("the template parses")
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// A schema a replay may use: a plain lowercase identifier that is not one of PostgreSQL's
/// or TimescaleDB's own.
pub fn check_schema_name(name: &str) -> Result<()> {
    let plain = !name.is_empty()
        && name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !plain || name == "public" || name.starts_with("pg_") || name.starts_with("timescaledb") {
        bail!(
            "schema {name:?}: use lowercase letters, digits and `_` (at most 40, starting with a \
             letter), not public and not a pg_ or timescaledb name"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(check_schema_name("replay_2026_12").is_ok());
        for bad in [
            "",
            "Public",
            "public",
            "pg_temp",
            "1abc",
            "a-b",
            "a;drop",
            &"x".repeat(41),
        ] {
            assert!(check_schema_name(bad).is_err(), "{bad:?} accepted");
        }
    }
}
