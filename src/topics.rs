//! Creates the Kafka topics healthpipe uses, if missing. The per-user stream is partitioned
//! by user id, so its partition count bounds how many processor instances share the work.

use std::time::Duration;

use anyhow::{Context, Result};
use healthpipe_schemas::Topics;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::types::RDKafkaErrorCode;

/// Partitions of each topic: enough to spread users over several processor instances.
pub const PARTITIONS: i32 = 6;

pub async fn ensure(brokers: &str, topics: &Topics, replication: i32) -> Result<()> {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", brokers);
    create(&config, &topics.all(), PARTITIONS, replication).await
}

/// Creates the topics `names` with `partitions` each, kept for ever, unless they exist.
pub async fn create(
    config: &ClientConfig,
    names: &[&str],
    partitions: i32,
    replication: i32,
) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> = config.create().context("kafka admin client")?;
    let new_topics: Vec<NewTopic> = names
        .iter()
        .map(|name| {
            NewTopic::new(name, partitions, TopicReplication::Fixed(replication))
                // Events are the system of record: keep them.
                .set("retention.ms", "-1")
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in admin.create_topics(&new_topics, &options).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => anyhow::bail!("creating topic {name}: {code}"),
        }
    }
    Ok(())
}
