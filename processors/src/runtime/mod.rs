//! The processor runtime every projection runs on: a Kafka consumer whose assignments start
//! at the offsets stored in the database (`consumer`, `offsets`), batches applied exactly
//! once and failures handled by class (`runner`), several partitions' batches at once
//! (`lanes`), poison messages on the dead-letter topic
//! and back (`dead_letter`), partitions stopped on purpose (`partitions`).
//!
//! A processor is a [`Projection`](crate::projection::Projection) and a topic; `run` does
//! the rest until shutdown: SIGTERM finishes the batch in hand, commits it, leaves the group
//! and joins the side tasks (metrics server, ticker).

mod consumer;
pub mod dead_letter;
mod lanes;
mod offsets;
mod partitions;
mod runner;

use std::sync::Arc;

use healthpipe_eventlog::GroupHealth;
use healthpipe_schemas::EventCodec;
use rdkafka::consumer::Consumer;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use partitions::{Partitions, Stopped};

use crate::aggregation::Aggregation;
use crate::config::ProcessorConfig;
use crate::error::ProcessorError;
use crate::insights::Insights;
use crate::metrics;
use crate::projection::Projection;
use crate::publish::EventProducer;
use dead_letter::DeadLetters;
use lanes::Lanes;
use runner::Runner;

/// Runs the aggregation processor until `shutdown` is cancelled: the per-user event log →
/// samples and aggregates, announcing changed buckets.
pub async fn run_aggregation(
    config: ProcessorConfig,
    shutdown: CancellationToken,
) -> Result<(), ProcessorError> {
    let topics = config.topics.clone();
    let projection = Aggregation {
        codec: EventCodec::new(&config.registry_url),
        producer: EventProducer::new(&config)?,
        changes_topic: config
            .announce_changes
            .then(|| topics.aggregates_updated.clone()),
        retention_day: config.retention_day,
    };
    let side = SideTasks::new(&shutdown);
    run(
        &config,
        vec![topics.user_events.clone()],
        projection,
        side,
        shutdown,
    )
    .await
}

/// Runs the insights processor until `shutdown` is cancelled: aggregate changes and day
/// ticks → insights. It also publishes the day ticks of users whose local day turned.
pub async fn run_insights(
    config: ProcessorConfig,
    shutdown: CancellationToken,
) -> Result<(), ProcessorError> {
    let topics = config.topics.clone();
    let projection = Insights::new(&config, &topics)?;
    let mut side = SideTasks::new(&shutdown);
    if let Some(interval) = config.tick_interval {
        let ticker = crate::insights::ticker::Ticker::new(&config)?;
        side.spawn(|token| ticker.run(interval, token));
    }
    run(
        &config,
        vec![
            topics.aggregates_updated.clone(),
            topics.user_events.clone(),
        ],
        projection,
        side,
        shutdown,
    )
    .await
}

/// Tasks that live as long as the processor, stopped and joined when it stops, whether by
/// shutdown or by a fatal error.
struct SideTasks {
    token: CancellationToken,
    handles: Vec<JoinHandle<()>>,
}

impl SideTasks {
    fn new(shutdown: &CancellationToken) -> Self {
        Self {
            token: shutdown.child_token(),
            handles: Vec::new(),
        }
    }

    fn spawn<F, Fut>(&mut self, task: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.handles.push(tokio::spawn(task(self.token.clone())));
    }

    async fn join(self) {
        self.token.cancel();
        for handle in self.handles {
            if let Err(e) = handle.await {
                tracing::warn!(error = %e, "a side task failed");
            }
        }
    }
}

async fn run<P: Projection + 'static>(
    config: &ProcessorConfig,
    topics: Vec<String>,
    projection: P,
    mut side: SideTasks,
    shutdown: CancellationToken,
) -> Result<(), ProcessorError> {
    metrics::init();
    let partitions = Arc::new(Partitions::default());
    let health = Arc::new(GroupHealth::default());
    if let Some(addr) = config.metrics_addr {
        let readiness = metrics::Readiness {
            partitions: partitions.clone(),
            group: health.clone(),
            stall_timeout: config.kafka_stall_timeout,
        };
        side.spawn(move |token| metrics::serve(addr, readiness, token));
    }
    let result = consume(config, topics, projection, &partitions, &health, &shutdown).await;
    side.join().await;
    tracing::info!(group = %config.group_id, ok = result.is_ok(), "processor stopped");
    result
}

/// Consumer replacements in a row, each without the group ever becoming steady, after which
/// the processor gives up and exits (so the orchestrator restarts it and says so).
const MAX_REPLACEMENTS_IN_A_ROW: u32 = 3;

async fn consume<P: Projection + 'static>(
    config: &ProcessorConfig,
    topics: Vec<String>,
    projection: P,
    partitions: &Arc<Partitions>,
    health: &Arc<GroupHealth>,
    shutdown: &CancellationToken,
) -> Result<(), ProcessorError> {
    let dead_letter = config.topics.dead_letter.clone();
    let pool = pool(config)?;
    let runner = Arc::new(Runner {
        key_store: key_store(config, &pool)?,
        pool,
        dead_letters: DeadLetters::new(config, dead_letter)?,
        group: config.group_id.clone(),
        projection,
        partitions: partitions.clone(),
        keys: config.key_provider()?,
    });
    let subscribed: Vec<&str> = topics.iter().map(String::as_str).collect();
    let mut in_a_row = 0;
    loop {
        let consumer = Arc::new(consumer::create(
            config,
            partitions.clone(),
            health.clone(),
        )?);
        consumer.subscribe(&subscribed)?;
        tracing::info!(group = %config.group_id, ?topics, "processor started");
        let ended = run_consumer(&consumer, config, &runner, partitions, health, shutdown).await;
        if !matches!(ended, Ok(Ended::Stalled)) {
            // Leave the group now rather than when the session times out, so the
            // partitions move to the other instances at once.
            consumer.unsubscribe();
            return ended.map(|_| ());
        }
        in_a_row = if health.was_steady() { 1 } else { in_a_row + 1 };
        let state = health.last_state();
        healthpipe_eventlog::metrics::REPLACEMENTS
            .with_label_values(&["consumer"])
            .inc();
        if in_a_row > MAX_REPLACEMENTS_IN_A_ROW {
            return Err(ProcessorError::Stalled(format!(
                "the kafka consumer of group {} stayed out of its group through \
                 {MAX_REPLACEMENTS_IN_A_ROW} replacements (last state {state:?})",
                config.group_id
            )));
        }
        tracing::error!(group = %config.group_id, ?state, replacement = in_a_row,
            stall_timeout_secs = config.kafka_stall_timeout.as_secs(),
            "kafka consumer out of its group for the stall window; replacing it");
        // Closing a stuck consumer can wait for ever on its group: not on this thread.
        std::thread::spawn(move || drop(consumer));
        health.replaced();
    }
}

/// Why a consumer's loop ended.
enum Ended {
    Shutdown,
    Stalled,
}

/// Collects batches and deals them to the lanes until shutdown, or until the consumer has
/// been out of its group for the stall window; then waits for the lanes' batches in hand.
async fn run_consumer<P: Projection + 'static>(
    consumer: &Arc<consumer::ProcessorConsumer>,
    config: &ProcessorConfig,
    runner: &Arc<Runner<P>>,
    partitions: &Partitions,
    health: &GroupHealth,
    shutdown: &CancellationToken,
) -> Result<Ended, ProcessorError> {
    let stop = shutdown.child_token();
    let lanes = Lanes::start(
        config.batch_lanes,
        lanes::Shared {
            consumer: consumer.clone(),
            runner: runner.clone(),
            max_messages: config.batch_max_messages,
            stop: stop.clone(),
            shutdown: shutdown.clone(),
        },
    );
    let ended = loop {
        if stop.is_cancelled() {
            break Ended::Shutdown;
        }
        if health.should_replace(config.kafka_stall_timeout) {
            break Ended::Stalled;
        }
        let batch = consumer::collect(consumer, config, partitions, health, &stop).await;
        if !batch.is_empty() {
            lanes.deal(batch).await;
        }
    };
    lanes.finish().await.map(|()| ended)
}

/// The processors' connection pool.
pub(crate) fn pool(config: &ProcessorConfig) -> Result<deadpool_postgres::Pool, ProcessorError> {
    // A transaction per lane, and two for the key loads and dead-letter moves beside them.
    let size = config.batch_lanes.max(1) + 2;
    Ok(healthpipe_storage::connect(&config.database_url, size)?)
}

/// The key store's pool: the projection's own unless `KEY_STORE_DATABASE_URL` names another.
pub(crate) fn key_store(
    config: &ProcessorConfig,
    projection: &deadpool_postgres::Pool,
) -> Result<deadpool_postgres::Pool, ProcessorError> {
    match &config.key_store_url {
        Some(url) => Ok(healthpipe_storage::connect(url, 2)?),
        None => Ok(projection.clone()),
    }
}

/// A message of topic `t` at `partition` and `offset`, for the runtime's unit tests.
#[cfg(test)]
fn test_message(partition: i32, offset: i64) -> rdkafka::message::OwnedMessage {
    rdkafka::message::OwnedMessage::new(
        None,
        None,
        "t".into(),
        rdkafka::Timestamp::NotAvailable,
        partition,
        offset,
        None,
    )
}
