//! The command line. Every service reads its settings from the environment (see each
//! crate's `config`), so the same binary runs unchanged on a laptop and on Kubernetes.

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};
use tokio_util::sync::CancellationToken;

use crate::telemetry::LogFormat;

#[derive(Debug, Parser)]
#[command(
    name = "healthpipe",
    version,
    about = "Event-sourced pipeline for personal health data"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Years of raw samples kept (1 to 100). Every process of a deployment must be given the
    /// same value: the gateway refuses older samples, the processors drop them, `retention`
    /// deletes them, and day, week and month buckets older than that are frozen.
    #[arg(long, global = true, env = "RETENTION_SAMPLE_YEARS",
          default_value_t = healthpipe_domain::retention::SAMPLE_YEARS,
          value_parser = clap::value_parser!(u32).range(1..=healthpipe_domain::retention::MAX_SAMPLE_YEARS as i64))]
    pub retention_sample_years: u32,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply the SQL migrations (DATABASE_URL), create the Kafka topics (KAFKA_BROKERS) and
    /// register the event schemas (SCHEMA_REGISTRY_ADMIN_URL, else SCHEMA_REGISTRY_URL).
    Migrate(MigrateArgs),
    /// Run the ingestion gateway (GATEWAY_ADDR, DATABASE_URL, KAFKA_BROKERS, SCHEMA_REGISTRY_URL).
    Gateway,
    /// Run a processor: a Kafka consumer group writing projections.
    Process {
        #[arg(value_enum)]
        processor: Processor,
    },
    /// Run the Confluent-compatible schema registry (REGISTRY_ADDR, DATABASE_URL).
    Registry,
    /// The whole pipeline on the local stack with demo users; prints their daily totals.
    Demo(crate::demo::DemoArgs),
    /// Messages the processors set aside on `<prefix>.dead-letter`.
    #[command(subcommand)]
    DeadLetter(DeadLetter),
    /// The key store: the users' data keys, wrapped by key-encryption keys.
    #[command(subcommand)]
    Keys(Keys),
    /// Reading the topics.
    #[command(subcommand)]
    Topic(Topic),
    /// How far each processor group is behind, per partition (DATABASE_URL, KAFKA_BROKERS).
    Lag(LagArgs),
    /// Clinicians' accounts, made by an operator.
    #[command(subcommand)]
    Providers(Providers),
    /// Remove what the retention horizons no longer keep (DATABASE_URL): raw samples after
    /// 7 years, hourly aggregates and insights after 2, ended shares after 30 days, ...
    Retention(crate::retention::RetentionArgs),
    /// Rebuild a projection from the topics into a schema of its own while the live one keeps
    /// serving; `--switch` swaps it in atomically.
    #[command(subcommand)]
    Replay(crate::replay::ReplayCommand),
    /// Import an export into an account (GATEWAY settings: DATABASE_URL, KAFKA_BROKERS,
    /// SCHEMA_REGISTRY_URL, KEY_ENCRYPTION_KEYS_FILE): the same job as an upload to
    /// `POST /api/v1/imports/{source}`, with a progress bar and the report at the end.
    Import(crate::import::ImportArgs),
    /// The cold tier: months of samples and aggregates older than ARCHIVE_AFTER_DAYS to
    /// Parquet under ARCHIVE_URL (DATABASE_URL); changed months rewritten, erased users
    /// removed, months past the seven-year retention deleted.
    Archive(crate::archive::ArchiveArgs),
}

#[derive(Debug, Subcommand)]
pub enum Providers {
    /// Make a provider account (a password is printed once), or verify an existing one
    /// again with its organisation (DATABASE_URL).
    Add(crate::providers::ProvidersAddArgs),
}

#[derive(Debug, Subcommand)]
pub enum Topic {
    /// The messages of a time range as JSON Lines; `--decrypt` opens their content with the
    /// users' keys (DATABASE_URL, KEY_ENCRYPTION_KEYS_FILE) and is recorded in `topic_reads`.
    Read(Box<crate::topic::TopicReadArgs>),
    /// Copy the per-user stream to a new topic with every event written in clear sealed
    /// (DATABASE_URL, KEY_ENCRYPTION_KEYS_FILE); resumable. `--switch` then moves the
    /// processors' positions to it: see the README, "Events written in clear".
    Reencrypt(Box<crate::topic::ReencryptArgs>),
}

#[derive(Debug, Subcommand)]
pub enum Keys {
    /// Re-wrap every data key under the first key-encryption key listed (DATABASE_URL,
    /// KEY_ENCRYPTION_KEYS_FILE); the log is not touched.
    Rotate(crate::keys::KeysArgs),
    /// Print a new key-encryption key line (`id=<64 hex digits>`) to list in the file.
    NewKek {
        /// Its id, recorded with every data key it wraps (e.g. `kek-2026-12`).
        #[arg(long)]
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DeadLetter {
    /// Once the cause is fixed, append the dead letters not redriven yet to the topics they
    /// came from (each once; progress is the group `<prefix>.dead-letter-redrive`).
    Redrive(RedriveArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct RedriveArgs {
    /// List what would go back, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long, env = "KAFKA_BROKERS", default_value = "127.0.0.1:59092")]
    pub kafka_brokers: String,
    /// Prefix of the topic names (`<prefix>.dead-letter`, ...).
    #[arg(long, env = "TOPIC_PREFIX", default_value = "healthpipe")]
    pub topic_prefix: String,
}

#[derive(Debug, Clone, clap::Args)]
pub struct LagArgs {
    /// Only this consumer group.
    #[arg(long)]
    pub group: Option<String>,
    /// Where the processors store their positions.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true,
          value_parser = healthpipe_config::database_url)]
    pub database_url: String,
    #[arg(long, env = "KAFKA_BROKERS", default_value = "127.0.0.1:59092")]
    pub kafka_brokers: String,
}

/// Where `migrate` applies the schema and creates the topics.
#[derive(Debug, Clone, clap::Args)]
pub struct MigrateArgs {
    /// The database to migrate.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true,
          value_parser = healthpipe_config::database_url)]
    pub database_url: String,
    /// Where the topics are created.
    #[arg(long, env = "KAFKA_BROKERS", default_value = "127.0.0.1:59092")]
    pub kafka_brokers: String,
    /// Prefix of the topic names (`<prefix>.user-events`, ...).
    #[arg(long, env = "TOPIC_PREFIX", default_value = "healthpipe")]
    pub topic_prefix: String,
    /// Partitions and replication of new topics.
    #[command(flatten)]
    pub topics: crate::topics::TopicSettings,
    /// Create no topic, only check that every one exists with at least TOPIC_PARTITIONS
    /// partitions and TOPIC_REPLICATION replicas, and fail listing what is not so: where
    /// another tool owns the topics (Strimzi's KafkaTopic resources on Kubernetes).
    #[arg(long = "check-topics", env = "TOPICS_MANAGED_EXTERNALLY", action = clap::ArgAction::Set,
          default_value = "false", num_args = 0..=1, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub check_topics: bool,
    /// Where the event schemas are registered.
    #[command(flatten)]
    pub schemas: crate::schema_registration::RegistrationArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Processor {
    /// Samples and deduplicated hour/day/week/month aggregates; announces changed buckets.
    Aggregation,
    /// Insights from changed aggregates and day ticks (its own consumer group).
    Insights,
}

impl Cli {
    /// Services log JSON lines for the log pipeline; one-shot commands log plain text.
    pub fn log_format(&self) -> LogFormat {
        match self.command {
            Command::Migrate(_)
            | Command::Demo(_)
            | Command::DeadLetter(_)
            | Command::Keys(_)
            | Command::Topic(_)
            | Command::Providers(_)
            | Command::Lag(_)
            | Command::Retention(_)
            | Command::Replay(_)
            | Command::Archive(_)
            | Command::Import(_) => LogFormat::Text,
            _ => LogFormat::Json,
        }
    }
}

pub async fn run(cli: Cli) -> Result<()> {
    healthpipe_domain::retention::keep_samples_for_years(cli.retention_sample_years);
    match cli.command {
        Command::Migrate(args) => migrate(args).await,
        Command::Import(args) => crate::import::run(args).await,
        Command::Gateway => {
            let config = healthpipe_gateway::GatewayConfig::from_env()?;
            healthpipe_gateway::serve(config, shutdown_signal().cancelled_owned()).await?;
            Ok(())
        }
        Command::Process { processor } => {
            match processor {
                Processor::Aggregation => {
                    let config = healthpipe_processors::ProcessorConfig::from_env("aggregation")?;
                    healthpipe_processors::run_aggregation(config, shutdown_signal()).await?;
                }
                Processor::Insights => {
                    let config = healthpipe_processors::ProcessorConfig::from_env("insights")?;
                    healthpipe_processors::run_insights(config, shutdown_signal()).await?;
                }
            }
            Ok(())
        }
        Command::Demo(args) => crate::demo::run(args).await,
        Command::DeadLetter(DeadLetter::Redrive(args)) => redrive(args).await,
        Command::Keys(Keys::Rotate(args)) => crate::keys::rotate(args).await,
        Command::Providers(Providers::Add(args)) => crate::providers::add(args).await,
        Command::Lag(args) => lag(args).await,
        Command::Retention(args) => crate::retention::run(args, shutdown_signal()).await,
        Command::Replay(command) => crate::replay::run(command, shutdown_signal()).await,
        Command::Archive(args) => {
            let summary = crate::archive::run(args).await?;
            print!("{summary}");
            Ok(())
        }
        Command::Topic(Topic::Read(args)) => {
            let printed = crate::topic::read(*args, &mut std::io::stdout().lock()).await?;
            eprintln!("{printed} messages");
            Ok(())
        }
        Command::Topic(Topic::Reencrypt(args)) => {
            let (to, switch) = (args.to.clone(), args.switch);
            let report = crate::topic::reencrypt(*args).await?;
            println!(
                "{} events sealed, {} copied as they were, {} of erased users left behind",
                report.sealed, report.copied, report.left_behind
            );
            for (group, next) in &report.moved {
                println!("{group}: positions on {to} {next:?}");
            }
            if switch {
                println!(
                    "next: set USER_EVENTS_TOPIC={to} on every gateway and processor, start them"
                );
            }
            Ok(())
        }
        Command::Keys(Keys::NewKek { id }) => {
            crate::keys::new_kek(&id);
            Ok(())
        }
        Command::Registry => {
            let config = healthpipe_registry::RegistryConfig::from_env()?;
            healthpipe_registry::serve(config, shutdown_signal().cancelled_owned()).await?;
            Ok(())
        }
    }
}

async fn redrive(args: RedriveArgs) -> Result<()> {
    let topics = healthpipe_schemas::Topics::with_prefix(&args.topic_prefix);
    let redriven = healthpipe_processors::runtime::dead_letter::redrive(
        &args.kafka_brokers,
        &topics,
        args.dry_run,
    )
    .await?;
    let verb = if args.dry_run {
        "would go back"
    } else {
        "back"
    };
    for (topic, count) in &redriven.by_topic {
        println!("{count} {verb} on {topic}");
    }
    if redriven.by_topic.is_empty() {
        println!("no dead letters to redrive");
    }
    if redriven.left > 0 {
        println!(
            "{} left in place: no known source topic (see the log)",
            redriven.left
        );
    }
    Ok(())
}

async fn migrate(args: MigrateArgs) -> Result<()> {
    let applied = healthpipe_storage::migrations::run(&args.database_url).await?;
    println!(
        "migrations applied: {}",
        if applied.is_empty() {
            "none (up to date)".to_string()
        } else {
            applied.join(", ")
        }
    );
    let topics = healthpipe_schemas::Topics::with_prefix(&args.topic_prefix);
    if args.check_topics {
        let described = crate::topics::check(&args.kafka_brokers, &topics, &args.topics).await?;
        for topic in described {
            println!(
                "topic {} as expected: {} partitions, replication {}",
                topic.name,
                topic.partitions.unwrap_or_default(),
                topic.replication
            );
        }
    } else {
        let ensured = crate::topics::ensure(&args.kafka_brokers, &topics, &args.topics).await?;
        for differs in &ensured.count_differs {
            println!("warning: {differs}");
        }
        println!(
            "topics ready: {} (created: {})",
            topics.all().join(", "),
            if ensured.created.is_empty() {
                "none".to_string()
            } else {
                format!(
                    "{}, {} partitions, replication {}",
                    ensured.created.join(", "),
                    args.topics.partitions,
                    args.topics.replication
                )
            }
        );
    }
    let registered =
        crate::schema_registration::register_all(&args.schemas, &args.topic_prefix).await?;
    println!(
        "event schemas registered: {registered} subjects at {}",
        args.schemas.admin_url()
    );
    Ok(())
}

/// Cancelled on SIGINT or SIGTERM (what Kubernetes sends before killing a pod).
fn shutdown_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutting down");
        trigger.cancel();
    });
    token
}

/// Prints one line per group, topic and partition, and each group's total.
async fn lag(args: LagArgs) -> Result<()> {
    let rows = crate::progress::lag_by_partition(
        &args.database_url,
        &args.kafka_brokers,
        args.group.as_deref(),
    )
    .await?;
    if rows.is_empty() {
        println!("no consumer group has applied anything yet");
        return Ok(());
    }
    println!(
        "{:<32} {:<40} {:>9} {:>12} {:>12} {:>10}",
        "group", "topic", "partition", "position", "log end", "lag"
    );
    let mut totals: std::collections::BTreeMap<&str, i64> = Default::default();
    for row in &rows {
        println!(
            "{:<32} {:<40} {:>9} {:>12} {:>12} {:>10}",
            row.group,
            row.topic,
            row.partition,
            row.next_offset,
            row.log_end,
            row.lag()
        );
        *totals.entry(row.group.as_str()).or_default() += row.lag();
    }
    for (group, total) in totals {
        println!("{group}: {total} messages behind");
    }
    Ok(())
}
