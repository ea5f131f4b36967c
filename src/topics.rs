//! Creates the Kafka topics healthpipe uses, if missing, or only checks them where something
//! else owns them (Strimzi's KafkaTopic resources on Kubernetes).
//!
//! The per-user stream is partitioned by user id, so its partition count bounds how many
//! processor instances of one group share the work. It is sized once, up front: adding
//! partitions to a topic changes which partition a user id hashes to, so a user's new events
//! would land on another partition than their old ones and could be applied before them.
//! Nothing here ever adds partitions; a topic found with another count is reported and left
//! as it is.

use std::time::Duration;

use anyhow::{Context, Result};
use healthpipe_schemas::Topics;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::{RDKafkaErrorCode, RDKafkaRespErr};

/// Partitions of a new topic unless `TOPIC_PARTITIONS` says otherwise: up to 12 processor
/// instances per group, enough headroom for years of growth at one topic per stream.
pub const DEFAULT_PARTITIONS: i32 = 12;

/// Replication factor from which `min.insync.replicas=2` is set.
const MIN_ISR_FROM_REPLICATION: i32 = 3;

/// How `migrate` sizes the topics it creates, and what it expects of topics it only checks.
#[derive(Debug, Clone, clap::Args)]
pub struct TopicSettings {
    /// Partitions of each new topic: the most instances of one processor group that get
    /// work. Never raised on an existing topic (that would reorder users' events).
    #[arg(long = "topic-partitions", env = "TOPIC_PARTITIONS",
          default_value_t = DEFAULT_PARTITIONS, value_parser = clap::value_parser!(i32).range(1..))]
    pub partitions: i32,
    /// Replication factor of new topics (3 in production; 1 on the local stack's one broker).
    /// From 3 on, new topics get `min.insync.replicas=2`.
    #[arg(long = "replication", env = "TOPIC_REPLICATION", default_value_t = 1,
          value_parser = clap::value_parser!(i32).range(1..))]
    pub replication: i32,
}

impl Default for TopicSettings {
    /// The local stack's: [`DEFAULT_PARTITIONS`], one replica.
    fn default() -> Self {
        Self {
            partitions: DEFAULT_PARTITIONS,
            replication: 1,
        }
    }
}

/// What one topic looks like on the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    pub name: String,
    /// `None`: the topic does not exist.
    pub partitions: Option<i32>,
    /// The fewest replicas any of its partitions has.
    pub replication: i32,
}

/// An existing topic whose partition count differs from the configured one, left unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountDiffers {
    pub topic: String,
    pub found: i32,
    pub configured: i32,
}

impl std::fmt::Display for CountDiffers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "topic {} has {} partitions, TOPIC_PARTITIONS is {}; not changed: adding \
             partitions moves users to other partitions and breaks the order of their events",
            self.topic, self.found, self.configured
        )
    }
}

/// What [`ensure`] did.
#[derive(Debug, Default)]
pub struct Ensured {
    /// Topics created by this call.
    pub created: Vec<String>,
    /// Existing topics with another partition count than configured (warned about).
    pub count_differs: Vec<CountDiffers>,
}

/// Why topics managed elsewhere are not as expected.
#[derive(Debug, thiserror::Error)]
pub enum TopicsError {
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("the topics are not as expected (they are managed outside healthpipe: fix their KafkaTopic resources):\n  {}",
            .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    NotAsExpected(Vec<Problem>),
}

/// One thing wrong with a topic that `migrate --check-topics` found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("topic {topic} is missing")]
    Missing { topic: String },
    #[error("topic {topic} has {found} partitions, at least {expected} expected")]
    TooFewPartitions {
        topic: String,
        found: i32,
        expected: i32,
    },
    #[error("topic {topic} has replication factor {found}, at least {expected} expected")]
    TooFewReplicas {
        topic: String,
        found: i32,
        expected: i32,
    },
}

/// Creates the missing topics of `topics` as `settings` say, and warns about existing ones
/// whose partition count differs (without changing them).
pub async fn ensure(brokers: &str, topics: &Topics, settings: &TopicSettings) -> Result<Ensured> {
    let config = client_config(brokers);
    let names = topics.all();
    let created = create(&config, &names, settings.partitions, settings.replication).await?;
    let described = describe(&config, &names).await?;
    let count_differs = count_differs(&described, settings.partitions);
    for differs in &count_differs {
        tracing::warn!(
            topic = %differs.topic,
            partitions = differs.found,
            configured = differs.configured,
            "{differs}"
        );
    }
    Ok(Ensured {
        created,
        count_differs,
    })
}

/// Checks that every topic of `topics` exists with at least the partitions and replicas of
/// `settings`; creates nothing. For clusters where another tool owns the topics.
pub async fn check(
    brokers: &str,
    topics: &Topics,
    settings: &TopicSettings,
) -> Result<Vec<Described>, TopicsError> {
    let described = describe(&client_config(brokers), &topics.all()).await?;
    let problems = problems(&described, settings);
    if problems.is_empty() {
        Ok(described)
    } else {
        Err(TopicsError::NotAsExpected(problems))
    }
}

fn client_config(brokers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", brokers);
    config
}

/// The configs of a new topic with `replication` replicas.
pub fn configs(replication: i32) -> Vec<(&'static str, &'static str)> {
    // Events are the system of record: keep them.
    let mut configs = vec![("retention.ms", "-1")];
    if replication >= MIN_ISR_FROM_REPLICATION {
        // An acknowledged write (acks=all) is then on two brokers at least, and one broker
        // can be down without stopping writes. Not below 3 replicas: with 2, a min ISR of 2
        // would stop every write while one broker is down (a routine restart).
        configs.push(("min.insync.replicas", "2"));
    }
    configs
}

/// Creates the topics `names` with `partitions` each, kept for ever, unless they exist;
/// returns the ones it created.
pub async fn create(
    config: &ClientConfig,
    names: &[&str],
    partitions: i32,
    replication: i32,
) -> Result<Vec<String>> {
    let admin: AdminClient<DefaultClientContext> = config.create().context("kafka admin client")?;
    let configs = configs(replication);
    let new_topics: Vec<NewTopic> = names
        .iter()
        .map(|name| {
            configs.iter().fold(
                NewTopic::new(name, partitions, TopicReplication::Fixed(replication)),
                |topic, (key, value)| topic.set(key, value),
            )
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let mut created = Vec::new();
    for result in admin.create_topics(&new_topics, &options).await? {
        match result {
            Ok(name) => created.push(name),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => anyhow::bail!("creating topic {name}: {code}"),
        }
    }
    Ok(created)
}

/// The partition count and replication of each of `names` (one metadata request each).
pub async fn describe(
    config: &ClientConfig,
    names: &[&str],
) -> Result<Vec<Described>, rdkafka::error::KafkaError> {
    let consumer: BaseConsumer = config.create()?;
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        names
            .iter()
            .map(|name| describe_one(&consumer, name))
            .collect()
    })
    .await
    .expect("the metadata task does not panic")
}

fn describe_one(
    consumer: &BaseConsumer,
    name: &str,
) -> Result<Described, rdkafka::error::KafkaError> {
    let metadata = consumer.fetch_metadata(Some(name), Duration::from_secs(10))?;
    let topic = metadata.topics().iter().find(|t| t.name() == name);
    // A missing topic comes back named, with an error and no partitions.
    let missing = topic.is_none_or(|t| {
        t.error() == Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
            || t.partitions().is_empty()
    });
    Ok(match topic {
        Some(t) if !missing => Described {
            name: name.to_string(),
            partitions: Some(i32::try_from(t.partitions().len()).unwrap_or(i32::MAX)),
            replication: t
                .partitions()
                .iter()
                .map(|p| i32::try_from(p.replicas().len()).unwrap_or(i32::MAX))
                .min()
                .unwrap_or(0),
        },
        _ => Described {
            name: name.to_string(),
            partitions: None,
            replication: 0,
        },
    })
}

/// Existing topics whose partition count is not `configured`.
fn count_differs(described: &[Described], configured: i32) -> Vec<CountDiffers> {
    described
        .iter()
        .filter_map(|d| {
            let found = d.partitions?;
            (found != configured).then(|| CountDiffers {
                topic: d.name.clone(),
                found,
                configured,
            })
        })
        .collect()
}

/// What is wrong with `described` against `expected`: missing topics, too few partitions
/// or replicas (more of either is fine).
fn problems(described: &[Described], expected: &TopicSettings) -> Vec<Problem> {
    let mut problems = Vec::new();
    for d in described {
        let Some(partitions) = d.partitions else {
            problems.push(Problem::Missing {
                topic: d.name.clone(),
            });
            continue;
        };
        if partitions < expected.partitions {
            problems.push(Problem::TooFewPartitions {
                topic: d.name.clone(),
                found: partitions,
                expected: expected.partitions,
            });
        }
        if d.replication < expected.replication {
            problems.push(Problem::TooFewReplicas {
                topic: d.name.clone(),
                found: d.replication,
                expected: expected.replication,
            });
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(name: &str, partitions: Option<i32>, replication: i32) -> Described {
        Described {
            name: name.into(),
            partitions,
            replication,
        }
    }

    #[test]
    fn min_isr_is_two_from_three_replicas_only() {
        let min_isr = |r| {
            configs(r)
                .into_iter()
                .find(|(k, _)| *k == "min.insync.replicas")
        };
        assert_eq!(min_isr(1), None);
        assert_eq!(
            min_isr(2),
            None,
            "2 replicas with min ISR 2 stop on one broker down"
        );
        assert_eq!(min_isr(3), Some(("min.insync.replicas", "2")));
        assert_eq!(min_isr(5), Some(("min.insync.replicas", "2")));
        assert!(configs(3).contains(&("retention.ms", "-1")));
    }

    #[test]
    fn only_existing_topics_of_another_count_differ() {
        let described = [
            topic("a", Some(12), 1),
            topic("b", Some(6), 1),
            topic("c", None, 0),
            topic("d", Some(24), 1),
        ];
        let differs: Vec<(String, i32)> = count_differs(&described, 12)
            .into_iter()
            .map(|d| (d.topic, d.found))
            .collect();
        assert_eq!(differs, vec![("b".into(), 6), ("d".into(), 24)]);
    }

    #[test]
    fn checks_accept_more_and_list_every_shortfall() {
        let expected = TopicSettings {
            partitions: 12,
            replication: 3,
        };
        let described = [
            topic("ok", Some(12), 3),
            topic("more", Some(24), 4),
            topic("gone", None, 0),
            topic("small", Some(6), 1),
        ];
        assert_eq!(
            problems(&described, &expected),
            vec![
                Problem::Missing {
                    topic: "gone".into()
                },
                Problem::TooFewPartitions {
                    topic: "small".into(),
                    found: 6,
                    expected: 12
                },
                Problem::TooFewReplicas {
                    topic: "small".into(),
                    found: 1,
                    expected: 3
                },
            ]
        );
    }
}
