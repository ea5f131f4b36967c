//! The processor runtime every projection runs on: a Kafka consumer whose assignments start
//! at the offsets stored in the database (`consumer`, `offsets`), batches applied exactly
//! once and failures handled by class (`runner`), poison messages on the dead-letter topic
//! and back (`dead_letter`), partitions stopped on purpose (`partitions`).
//!
//! A processor is a [`Projection`](crate::projection::Projection) and a topic; `run` does
//! the rest until shutdown: SIGTERM finishes the batch in hand, commits it, leaves the group
//! and joins the side tasks (metrics server, ticker).

mod consumer;
pub mod dead_letter;
mod offsets;
mod partitions;
mod runner;

use std::sync::Arc;

use healthpipe_schemas::{EventCodec, Topics};
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
use runner::Runner;

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
    let topics = Topics::with_prefix(&config.topic_prefix);
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

async fn run<P: Projection>(
    config: &ProcessorConfig,
    topics: Vec<String>,
    projection: P,
    mut side: SideTasks,
    shutdown: CancellationToken,
) -> Result<(), ProcessorError> {
    let partitions = Arc::new(Partitions::default());
    if let Some(addr) = config.metrics_addr {
        let health = partitions.clone();
        side.spawn(move |token| metrics::serve(addr, health, token));
    }
    let result = consume(config, topics, projection, &partitions, &shutdown).await;
    side.join().await;
    tracing::info!(group = %config.group_id, ok = result.is_ok(), "processor stopped");
    result
}

async fn consume<P: Projection>(
    config: &ProcessorConfig,
    topics: Vec<String>,
    projection: P,
    partitions: &Arc<Partitions>,
    shutdown: &CancellationToken,
) -> Result<(), ProcessorError> {
    let dead_letter = Topics::with_prefix(&config.topic_prefix).dead_letter;
    let consumer = consumer::create(config, partitions.clone())?;
    let subscribed: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&subscribed)?;
    let runner = Runner {
        pool: pool(config)?,
        dead_letters: DeadLetters::new(&config.kafka_brokers, dead_letter)?,
        group: config.group_id.clone(),
        projection,
        partitions: partitions.clone(),
    };
    tracing::info!(group = %config.group_id, ?topics, "processor started");
    let result = loop {
        if shutdown.is_cancelled() {
            break Ok(());
        }
        let batch = consumer::collect(&consumer, config, partitions, shutdown).await;
        if batch.is_empty() {
            continue;
        }
        let next = offsets::next_offsets(&batch);
        if let Err(e) = runner.settle(&consumer, batch, shutdown).await {
            tracing::error!(error = %e, "fatal error; stopping the processor");
            break Err(e);
        }
        offsets::commit_informational(&consumer, &next);
    };
    // Leave the group now rather than when the session times out, so the partitions move
    // to the other instances at once.
    consumer.unsubscribe();
    result
}

/// The processors' connection pool.
pub(crate) fn pool(config: &ProcessorConfig) -> Result<deadpool_postgres::Pool, ProcessorError> {
    Ok(healthpipe_storage::connect(&config.database_url, 4)?)
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
