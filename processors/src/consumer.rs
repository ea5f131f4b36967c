//! The consumer loop: collect a batch (up to `batch_max_messages` or `batch_max_wait`),
//! apply it in one transaction, retry with backoff while the database or the registry is
//! down, then tell Kafka how far we got (informational: the database is the source of truth).

use std::collections::HashMap;
use std::time::Duration;

use healthpipe_schemas::{EventCodec, Topics};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::aggregation::Aggregation;
use crate::config::ProcessorConfig;
use crate::dead_letter::DeadLetters;
use crate::error::ProcessorError;
use crate::insights::Insights;
use crate::projection::{Projection, Runner};
use crate::publish::EventProducer;
use crate::{metrics, offsets};

/// Runs the aggregation processor until `shutdown` is cancelled: the per-user event log →
/// samples and aggregates, announcing changed buckets.
pub async fn run_aggregation(
    config: ProcessorConfig,
    shutdown: CancellationToken,
) -> Result<(), ProcessorError> {
    let topics = Topics::with_prefix(&config.topic_prefix);
    let projection = Aggregation {
        codec: EventCodec::new(&config.registry_url),
        producer: EventProducer::new(&config.kafka_brokers, &config.registry_url)?,
        changes_topic: config
            .announce_changes
            .then(|| topics.aggregates_updated.clone()),
    };
    run(config, topics.user_events.clone(), projection, shutdown).await
}

/// Runs the insights processor until `shutdown` is cancelled: aggregate changes and day
/// ticks → insights. It also publishes the day ticks of users whose local day turned.
pub async fn run_insights(
    config: ProcessorConfig,
    shutdown: CancellationToken,
) -> Result<(), ProcessorError> {
    let topics = Topics::with_prefix(&config.topic_prefix);
    let projection = Insights::new(&config, &topics)?;
    if let Some(interval) = config.tick_interval {
        let ticker = crate::insights::ticker::Ticker::new(&config)?;
        tokio::spawn(ticker.run(interval, shutdown.clone()));
    }
    run(
        config,
        topics.aggregates_updated.clone(),
        projection,
        shutdown,
    )
    .await
}

async fn run<P: Projection>(
    config: ProcessorConfig,
    topic: String,
    projection: P,
    shutdown: CancellationToken,
) -> Result<(), ProcessorError> {
    let topics = Topics::with_prefix(&config.topic_prefix);
    let pool = pool(&config)?;
    if let Some(addr) = config.metrics_addr {
        tokio::spawn(metrics::serve(addr, shutdown.clone()));
    }
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &config.kafka_brokers)
        .set("group.id", &config.group_id)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("isolation.level", "read_committed")
        // A crashed (SIGKILL, OOM) instance keeps its partitions until its session times out,
        // and a restarted instance cannot join before that: with librdkafka's default of 45 s
        // every crash stalled the group for 45 s. Heartbeats come from librdkafka's own thread,
        // so long batches do not expire the session; a stuck loop is still caught by
        // `max.poll.interval.ms`. A spurious rebalance is harmless (offsets are in the database).
        .set("session.timeout.ms", "10000")
        // Bounded prefetch: memory stays flat whatever the backlog.
        .set("queued.max.messages.kbytes", "65536")
        .create()?;
    align_group_offsets(&consumer, &pool, &config.group_id, &topic).await;
    consumer.subscribe(&[&topic])?;
    let runner = Runner {
        pool,
        dead_letters: DeadLetters::new(&config.kafka_brokers, topics.dead_letter.clone())?,
        group: config.group_id.clone(),
        topic: topic.clone(),
        projection,
    };
    tracing::info!(group = %config.group_id, %topic, "processor started");
    while !shutdown.is_cancelled() {
        let batch = collect(&consumer, &config, &shutdown).await?;
        if batch.is_empty() {
            continue;
        }
        if !apply_with_retry(&runner, &batch, &shutdown).await? {
            break; // shut down while waiting to retry: the batch stays unapplied
        }
        commit_informational(&consumer, &batch);
    }
    tracing::info!(group = %config.group_id, "processor stopped");
    Ok(())
}

/// Waits for the first message (or shutdown), then takes what arrives within the batch wait.
/// Consumer errors (a broker restarting, a lost connection) are logged and waited out:
/// librdkafka reconnects by itself, and nothing was applied for them.
async fn collect(
    consumer: &StreamConsumer,
    config: &ProcessorConfig,
    shutdown: &CancellationToken,
) -> Result<Vec<OwnedMessage>, ProcessorError> {
    let mut batch = Vec::new();
    let first = loop {
        let received = tokio::select! {
            _ = shutdown.cancelled() => return Ok(batch),
            m = consumer.recv() => m,
        };
        match received {
            Ok(message) => break message,
            Err(e) => consumer_error(&e).await,
        }
    };
    batch.push(first.detach());
    let deadline = tokio::time::Instant::now() + config.batch_max_wait;
    while batch.len() < config.batch_max_messages {
        match tokio::time::timeout_at(deadline, consumer.recv()).await {
            Ok(Ok(message)) => batch.push(message.detach()),
            Ok(Err(e)) => {
                consumer_error(&e).await;
                break;
            }
            Err(_) => break,
        }
    }
    Ok(batch)
}

async fn consumer_error(e: &rdkafka::error::KafkaError) {
    metrics::RETRIES.with_label_values(&["kafka"]).inc();
    tracing::warn!(error = %e, "kafka consumer error; waiting for the client to recover");
    tokio::time::sleep(Duration::from_millis(500)).await;
}

/// Applies the batch, retrying retryable failures with backoff; `Ok(false)` if shutdown
/// came first.
async fn apply_with_retry<P: Projection>(
    runner: &Runner<P>,
    batch: &[OwnedMessage],
    shutdown: &CancellationToken,
) -> Result<bool, ProcessorError> {
    let mut backoff = Duration::from_millis(200);
    loop {
        match runner.apply(batch).await {
            Ok(outcome) => {
                tracing::debug!(?outcome, "batch applied");
                return Ok(true);
            }
            Err(e) if e.is_retryable() => {
                if shutdown.is_cancelled() {
                    return Ok(false);
                }
                let cause = match &e {
                    ProcessorError::Registry(_) => "registry",
                    ProcessorError::Kafka(_) => "kafka",
                    _ => "database",
                };
                metrics::RETRIES.with_label_values(&[cause]).inc();
                tracing::warn!(error = %e, backoff_ms = backoff.as_millis() as u64, "batch failed, retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return Ok(false),
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Tells Kafka the next offsets (asynchronously; losing this commit only costs skipped
/// re-reads, since the database holds the real position).
fn commit_informational(consumer: &StreamConsumer, batch: &[OwnedMessage]) {
    let mut next: HashMap<(String, i32), i64> = HashMap::new();
    for m in batch {
        let slot = next
            .entry((m.topic().to_string(), m.partition()))
            .or_insert(0);
        *slot = (*slot).max(m.offset() + 1);
    }
    let mut tpl = TopicPartitionList::new();
    for ((topic, partition), offset) in next {
        let _ = tpl.add_partition_offset(&topic, partition, Offset::Offset(offset));
    }
    if let Err(e) = consumer.commit(&tpl, CommitMode::Async) {
        tracing::debug!(error = %e, "informational offset commit failed");
    }
}

/// Before joining, makes the group's Kafka offsets equal to the database's, so a consumer
/// never starts past what the database holds (for example after the database was restored
/// from an older backup). Kafka refuses this while other members are active; then the group
/// is already running against this database and nothing needs aligning.
async fn align_group_offsets(
    consumer: &StreamConsumer,
    pool: &deadpool_postgres::Pool,
    group: &str,
    topic: &str,
) {
    let stored = match pool.get().await {
        Ok(client) => offsets::load(&client, group, topic)
            .await
            .unwrap_or_default(),
        Err(_) => return,
    };
    let Ok(metadata) = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)) else {
        return;
    };
    let mut tpl = TopicPartitionList::new();
    for t in metadata.topics() {
        for p in t.partitions() {
            let offset = stored.get(&p.id()).copied().unwrap_or(0);
            let _ = tpl.add_partition_offset(topic, p.id(), Offset::Offset(offset));
        }
    }
    if tpl.count() > 0 {
        if let Err(e) = consumer.commit(&tpl, CommitMode::Sync) {
            tracing::debug!(error = %e, "group offsets not aligned (group active)");
        }
    }
}

pub(crate) fn pool(config: &ProcessorConfig) -> Result<deadpool_postgres::Pool, ProcessorError> {
    let pg: tokio_postgres::Config = config
        .database_url
        .parse()
        .map_err(|e| ProcessorError::Config(format!("DATABASE_URL: {e}")))?;
    let manager = deadpool_postgres::Manager::new(pg, tokio_postgres::NoTls);
    deadpool_postgres::Pool::builder(manager)
        .max_size(4)
        .build()
        .map_err(|e| ProcessorError::Config(format!("database pool: {e}")))
}
