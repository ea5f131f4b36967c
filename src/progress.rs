//! How far the processors are: compares the group's stored offsets (in PostgreSQL, where the
//! processors keep them) with the end of each partition in Kafka.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use healthpipe_domain::SampleType;
use healthpipe_storage::projections::offsets;
use healthpipe_storage::reads::samples;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

/// Messages of `topic` not yet applied by `group`.
pub async fn lag(database_url: &str, brokers: &str, topic: &str, group: &str) -> Result<i64> {
    let ends = log_ends(brokers, topic).await?;
    behind(database_url, topic, group, &ends).await
}

/// The end offset of each partition of `topic`: where the next message will go.
pub async fn log_ends(brokers: &str, topic: &str) -> Result<Vec<(i32, i64)>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .context("kafka client")?;
    let topic_name = topic.to_string();
    tokio::task::spawn_blocking(move || ends_of(&consumer, &topic_name)).await?
}

/// [`log_ends`] with a client of the caller's (blocking: call it off the async threads).
pub fn ends_of(consumer: &BaseConsumer, topic: &str) -> Result<Vec<(i32, i64)>> {
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let mut ends = Vec::new();
    for t in metadata.topics() {
        for p in t.partitions() {
            let (_, high) = consumer.fetch_watermarks(topic, p.id(), Duration::from_secs(10))?;
            ends.push((p.id(), high));
        }
    }
    Ok(ends)
}

/// Messages before `ends` (partition, offset) of `topic` that `group` has not applied yet.
pub async fn behind(
    database_url: &str,
    topic: &str,
    group: &str,
    ends: &[(i32, i64)],
) -> Result<i64> {
    let pool = healthpipe_storage::connect(database_url, 1)?;
    let client = pool.get().await?;
    let stored = offsets::load(&client, group, topic).await?;
    Ok(ends
        .iter()
        .map(|(p, high)| (high - stored.get(p).copied().unwrap_or(0)).max(0))
        .sum())
}

/// How far one group is behind in one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    pub group: String,
    pub topic: String,
    pub partition: i32,
    /// The next offset the group applies (its stored position; 0 before its first batch).
    pub next_offset: i64,
    /// Where the partition's next message goes.
    pub log_end: i64,
}

impl PartitionLag {
    pub fn lag(&self) -> i64 {
        (self.log_end - self.next_offset).max(0)
    }
}

/// Every group with stored positions (in PostgreSQL, where the processors keep them),
/// against the end of every partition of the topics it reads; `group` picks one.
pub async fn lag_by_partition(
    database_url: &str,
    brokers: &str,
    group: Option<&str>,
) -> Result<Vec<PartitionLag>> {
    let pool = healthpipe_storage::connect(database_url, 1)?;
    let stored = offsets::all(&pool.get().await?).await?;
    let mut by_group_topic: std::collections::BTreeMap<(String, String), HashMap<i32, i64>> =
        Default::default();
    for (topic, position) in stored {
        if group.is_some_and(|g| g != position.group) {
            continue;
        }
        by_group_topic
            .entry((position.group, topic))
            .or_default()
            .insert(position.partition, position.next_offset);
    }
    let mut out = Vec::new();
    let mut ends_of: HashMap<String, Vec<(i32, i64)>> = HashMap::new();
    for ((group, topic), next) in by_group_topic {
        if !ends_of.contains_key(&topic) {
            ends_of.insert(topic.clone(), log_ends(brokers, &topic).await?);
        }
        let mut ends = ends_of[&topic].clone();
        ends.sort_unstable();
        for (partition, log_end) in ends {
            out.push(PartitionLag {
                group: group.clone(),
                topic: topic.clone(),
                partition,
                next_offset: next.get(&partition).copied().unwrap_or(0),
                log_end,
            });
        }
    }
    Ok(out)
}

/// Polls `lag` until it is zero.
pub async fn wait_until_caught_up(
    database_url: &str,
    brokers: &str,
    topic: &str,
    group: &str,
    timeout: Duration,
) -> Result<()> {
    let started = Instant::now();
    loop {
        let behind = lag(database_url, brokers, topic, group).await?;
        if behind == 0 {
            return Ok(());
        }
        if started.elapsed() > timeout {
            bail!("the processor is still {behind} messages behind after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Raw step samples summed per local start date, with no deduplication: what a naive
/// aggregator would report.
pub async fn naive_daily_steps(
    database_url: &str,
    user_id: &str,
    timezone: &str,
) -> Result<HashMap<NaiveDate, f64>> {
    let pool = healthpipe_storage::connect(database_url, 1)?;
    let client = pool.get().await?;
    let user: uuid::Uuid = user_id.parse()?;
    Ok(samples::naive_daily_sums(&client, user, SampleType::Steps, timezone).await?)
}
