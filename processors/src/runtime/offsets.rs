//! Positions: the database holds where a group stands (`consumer_offsets`, advanced in each
//! batch's transaction); Kafka's committed offsets only follow it, for tools like
//! `kafka-consumer-groups.sh --describe`.

use std::collections::HashMap;
use std::time::Duration;

use healthpipe_storage::projections::offsets;
use healthpipe_storage::StoreError;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};

/// How long an assignment waits for the database before falling back to Kafka's offsets.
const LOAD_TIMEOUT: Duration = Duration::from_secs(10);

/// The stored next offset of every partition of `topics` that `group` has applied.
///
/// Runs on a thread of its own with its own connection, because librdkafka calls the
/// rebalance callback synchronously from inside `recv()`: blocking the async runtime there
/// could wait on a connection task that needs the very worker thread being blocked.
pub fn load_blocking(
    database_url: &str,
    group: &str,
    topics: &[String],
) -> Result<HashMap<(String, i32), i64>, StoreError> {
    let (url, group, topics) = (database_url.to_owned(), group.to_owned(), topics.to_vec());
    let worker = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Pool(format!("offset loader runtime: {e}")))?;
        runtime.block_on(async {
            let load = async {
                let pool = healthpipe_storage::connect(&url, 1)?;
                let client = pool.get().await?;
                let mut positions = HashMap::new();
                for topic in &topics {
                    for (partition, next) in offsets::load(&client, &group, topic).await? {
                        positions.insert((topic.clone(), partition), next);
                    }
                }
                Ok(positions)
            };
            tokio::time::timeout(LOAD_TIMEOUT, load)
                .await
                .unwrap_or_else(|_| {
                    Err(StoreError::Unavailable {
                        statement: "offsets_load".into(),
                        reason: format!("no answer within {LOAD_TIMEOUT:?}"),
                    })
                })
        })
    });
    worker
        .join()
        .unwrap_or_else(|_| Err(StoreError::Corrupt("offset loader panicked".into())))
}

/// The next offset of every partition in `batch`, for [`commit_informational`] once the
/// batch is settled.
pub fn next_offsets(batch: &[OwnedMessage]) -> TopicPartitionList {
    let mut next: HashMap<(&str, i32), i64> = HashMap::new();
    for m in batch {
        let slot = next.entry((m.topic(), m.partition())).or_insert(0);
        *slot = (*slot).max(m.offset() + 1);
    }
    let mut tpl = TopicPartitionList::new();
    for ((topic, partition), offset) in next {
        let _ = tpl.add_partition_offset(topic, partition, Offset::Offset(offset));
    }
    tpl
}

/// Tells Kafka the next offsets (asynchronously; losing this commit costs only re-reads that
/// the stored offsets skip).
pub fn commit_informational<C: Consumer<X>, X: rdkafka::consumer::ConsumerContext>(
    consumer: &C,
    next: &TopicPartitionList,
) {
    if let Err(e) = consumer.commit(next, CommitMode::Async) {
        tracing::debug!(error = %e, "informational offset commit failed");
    }
}
