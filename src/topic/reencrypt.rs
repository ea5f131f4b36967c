//! `healthpipe topic reencrypt`: the per-user stream copied to a new topic with every event
//! written in clear before encryption sealed with its user's key, for a log that held health
//! data in clear before this version. Events already sealed are copied byte for byte; the
//! events of erased users (no account, no key) are left behind, their erasure kept.
//!
//! The copy keeps each message's partition, order, key, time and headers, and records where
//! it came from in a `healthpipe-source-offset` header, so a run that stopped resumes after
//! the last message that arrived, and `--switch` can carry the processors' positions
//! (`consumer_offsets`) over, message by message. The operator's steps are in the README
//! (§ Privacy, "Events written in clear").

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use healthpipe_config::{EventLogSettings, KeySettings};
use healthpipe_crypto::{LocalKeyProvider, Lookup};
use healthpipe_schemas::{EventCodec, Topics, Written};
use healthpipe_storage::accounts::keys;
use healthpipe_storage::projections::offsets;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::{Message, Offset};
use uuid::Uuid;

use super::{consumer, consumer_with, partitions, Messages, KAFKA_TIMEOUT};

/// The header naming the source offset of a copied message.
pub const SOURCE_OFFSET: &str = "healthpipe-source-offset";

/// Messages whose users' keys are loaded in one transaction, and sent before the next.
const CHUNK: usize = 500;

#[derive(Debug, Clone, clap::Args)]
pub struct ReencryptArgs {
    /// The new topic of the per-user stream (made with the source's partition count).
    #[arg(long)]
    pub to: String,
    /// After the copy, move the processors' positions to the new topic. Gateways and
    /// processors must be stopped; then set USER_EVENTS_TOPIC to the new topic everywhere.
    #[arg(long)]
    pub switch: bool,
    /// Replication factor of the new topic (3 in production; 1 on the local stack).
    #[arg(long, env = "TOPIC_REPLICATION", default_value_t = 1)]
    pub replication: i32,
    #[command(flatten)]
    pub event_log: EventLogSettings,
    /// The key store, and the processors' positions.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true,
          value_parser = healthpipe_config::database_url)]
    pub database_url: String,
    #[command(flatten)]
    pub keys: KeySettings,
}

/// What a run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Events written in clear, copied sealed.
    pub sealed: u64,
    /// Events copied as they were: sealed already, erasures, or not decodable (the
    /// processors dead-letter those wherever they are).
    pub copied: u64,
    /// Events of erased users, left behind.
    pub left_behind: u64,
    /// With `--switch`: each group's positions moved, partition → next offset on the new topic.
    pub moved: BTreeMap<String, BTreeMap<i32, i64>>,
}

/// Copies what the source has now and is not in the target yet; with `--switch`, then moves
/// the processors' positions.
pub async fn reencrypt(args: ReencryptArgs) -> Result<Report> {
    let source = Topics::named(
        &args.event_log.topic_prefix,
        args.event_log.user_events_topic.as_deref(),
    )
    .user_events;
    if args.to == source {
        bail!("--to names the topic the per-user stream is on now ({source}): name a new one");
    }
    let spec = args.keys.spec().map_err(anyhow::Error::msg)?;
    let provider = LocalKeyProvider::parse(&spec)?;
    let db = healthpipe_storage::connect(&args.database_url, 1)?;
    if args.switch {
        refuse_running_processors(&args.event_log, &db, &source).await?;
    }

    let copy = Copy::start(&args, &source).await?;
    let ends = copy.source_ends.clone();
    let mut report = copy.run(&db, &provider).await?;
    tracing::info!(
        sealed = report.sealed,
        copied = report.copied,
        left_behind = report.left_behind,
        "{source} copied to {}",
        args.to
    );
    if args.switch {
        report.moved = switch(&args, &db, &source, &ends).await?;
    }
    Ok(report)
}

/// One run of the copy: what to read, where from, and up to where.
struct Copy {
    codec: EventCodec,
    producer: FutureProducer,
    target: String,
    messages: Messages,
    source_ends: HashMap<i32, i64>,
}

impl Copy {
    /// Makes the target if missing and finds, per partition, where the copy resumes and
    /// where the source ends now.
    async fn start(args: &ReencryptArgs, source: &str) -> Result<Self> {
        let security = args.event_log.kafka_security.properties();
        let brokers = &args.event_log.kafka_brokers;
        let reader = consumer(&args.event_log, "reencrypt")?;
        let (reader, source_partitions) = blocking(reader, {
            let source = source.to_string();
            move |c| partitions(c, &source)
        })
        .await?;
        let admin = healthpipe_eventlog::client_config(brokers, &security);
        let count = i32::try_from(source_partitions.len())?;
        crate::topics::create(&admin, &[&args.to], count, args.replication).await?;

        let target = args.to.clone();
        let probe = consumer_with(&args.event_log, "reencrypt-resume", false)?;
        let (_, resume) = blocking(probe, {
            let (target, source_partitions) = (target.clone(), source_partitions.clone());
            move |c| resume_points(c, &target, &source_partitions)
        })
        .await?;
        let (reader, source_ends) = blocking(reader, {
            let source = source.to_string();
            move |c| ends(c, &source)
        })
        .await?;
        let starts: Vec<(i32, Offset)> = resume
            .iter()
            .map(|(p, next)| (*p, Offset::Offset(*next)))
            .collect();
        let messages = Messages::new(reader, source, &starts, &source_ends)?;
        let producer = healthpipe_eventlog::durable_config(brokers, &security)
            .create()
            .context("kafka producer")?;
        Ok(Self {
            codec: EventCodec::new(&args.event_log.registry_url),
            producer,
            target,
            messages,
            source_ends,
        })
    }

    async fn run(
        mut self,
        db: &healthpipe_storage::Pool,
        provider: &LocalKeyProvider,
    ) -> Result<Report> {
        let mut report = Report::default();
        loop {
            let mut chunk = Vec::with_capacity(CHUNK);
            while chunk.len() < CHUNK {
                match self.messages.next().await? {
                    Some(message) => chunk.push(message),
                    None => break,
                }
            }
            if chunk.is_empty() {
                return Ok(report);
            }
            self.copy_chunk(&chunk, db, provider, &mut report).await?;
        }
    }

    /// Seals what was written in clear with keys loaded (and, for accounts older than
    /// encryption, made) in one transaction, and sends the chunk, each message to its
    /// partition, waiting for every acknowledgement.
    async fn copy_chunk(
        &self,
        chunk: &[OwnedMessage],
        db: &healthpipe_storage::Pool,
        provider: &LocalKeyProvider,
        report: &mut Report,
    ) -> Result<()> {
        let mut users: Vec<Uuid> = chunk.iter().filter_map(user_of).collect();
        users.sort_unstable();
        users.dedup();
        let mut client = db.get().await.context("the key store")?;
        let ring = keys::keyring_creating_missing(&mut client, provider, &users).await?;
        drop(client);

        let mut pending = Vec::with_capacity(chunk.len());
        for message in chunk {
            let payload = message.payload().unwrap_or_default();
            let user = user_of(message).map(|u| u.to_string()).unwrap_or_default();
            let erased = matches!(ring.get(&user), Lookup::Gone);
            let copied = match self.codec.written(payload).await {
                Ok(Written::InClear(_) | Written::Sealed) if erased => None,
                Ok(Written::InClear(event)) => {
                    let Lookup::Key(key) = ring.get(event.user_id()) else {
                        bail!(
                            "partition {} offset {}: an event in clear about another user than \
                             its message key",
                            message.partition(),
                            message.offset()
                        );
                    };
                    report.sealed += 1;
                    Some(
                        self.codec
                            .encode_user_event(&self.target, &event, key)
                            .await?,
                    )
                }
                Ok(Written::Sealed | Written::Erasure) | Err(_) => {
                    report.copied += 1;
                    Some(payload.to_vec())
                }
            };
            match copied {
                Some(payload) => pending.push(self.send(message, &payload).await?),
                None => report.left_behind += 1,
            }
        }
        for delivery in pending {
            delivery
                .await
                .context("the producer went away")?
                .map_err(|(e, _)| e)
                .context("kafka did not take a copied message")?;
        }
        Ok(())
    }

    /// Queues `payload` as the copy of `message`: same partition, key, time and headers,
    /// and the source offset.
    async fn send(&self, message: &OwnedMessage, payload: &[u8]) -> Result<DeliveryFuture> {
        let mut headers = OwnedHeaders::new();
        if let Some(existing) = message.headers() {
            for header in existing.iter().filter(|h| h.key != SOURCE_OFFSET) {
                headers = headers.insert(header);
            }
        }
        let offset = message.offset().to_string();
        headers = headers.insert(Header {
            key: SOURCE_OFFSET,
            value: Some(offset.as_bytes()),
        });
        let mut record = FutureRecord::<[u8], [u8]>::to(&self.target)
            .partition(message.partition())
            .payload(payload)
            .headers(headers);
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        if let Some(at) = message.timestamp().to_millis() {
            record = record.timestamp(at);
        }
        loop {
            match self.producer.send_result(record) {
                Ok(delivery) => return Ok(delivery),
                Err((
                    rdkafka::error::KafkaError::MessageProduction(
                        rdkafka::types::RDKafkaErrorCode::QueueFull,
                    ),
                    back,
                )) => {
                    record = back;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err((e, _)) => return Err(e).context("queueing a copied message"),
            }
        }
    }
}

/// The user a message's key names.
fn user_of(message: &OwnedMessage) -> Option<Uuid> {
    std::str::from_utf8(message.key()?).ok()?.parse().ok()
}

/// The source offset a copied message came from.
fn source_offset(message: &impl Message) -> Option<i64> {
    let headers = message.headers()?;
    let header = headers.iter().find(|h| h.key == SOURCE_OFFSET)?;
    std::str::from_utf8(header.value?).ok()?.parse().ok()
}

/// Per partition, the source offset the copy goes on from: after the source offset of the
/// last message in the target's partition, 0 for an empty one.
fn resume_points(
    consumer: &BaseConsumer,
    target: &str,
    partitions: &[i32],
) -> Result<HashMap<i32, i64>> {
    let mut resume = HashMap::new();
    for &partition in partitions {
        let (low, high) = consumer.fetch_watermarks(target, partition, KAFKA_TIMEOUT)?;
        if high <= low {
            resume.insert(partition, 0);
            continue;
        }
        let last = read_one(consumer, target, partition, high - 1)?;
        let from = source_offset(&last).with_context(|| {
            format!("{target}[{partition}] holds messages that are not copies: name a new topic")
        })?;
        resume.insert(partition, from + 1);
    }
    Ok(resume)
}

/// The message at `offset`.
fn read_one(
    consumer: &BaseConsumer,
    topic: &str,
    partition: i32,
    offset: i64,
) -> Result<OwnedMessage> {
    let mut list = rdkafka::TopicPartitionList::new();
    list.add_partition_offset(topic, partition, Offset::Offset(offset))?;
    consumer.assign(&list)?;
    let deadline = std::time::Instant::now() + KAFKA_TIMEOUT;
    while std::time::Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) if message.partition() == partition && message.offset() == offset => {
                return Ok(message.detach())
            }
            Some(Ok(_)) | Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) | None => {}
            Some(Err(e)) => return Err(e.into()),
        }
    }
    bail!("{topic}[{partition}] offset {offset}: not read within {KAFKA_TIMEOUT:?}")
}

/// The end offset of each partition: where its next message goes.
fn ends(consumer: &BaseConsumer, topic: &str) -> Result<HashMap<i32, i64>> {
    Ok(crate::progress::ends_of(consumer, topic)?
        .into_iter()
        .collect())
}

/// Runs a blocking Kafka call on `consumer` off the runtime's threads; hands it back.
async fn blocking<T: Send + 'static>(
    consumer: BaseConsumer,
    call: impl FnOnce(&BaseConsumer) -> Result<T> + Send + 'static,
) -> Result<(BaseConsumer, T)> {
    tokio::task::spawn_blocking(move || {
        let value = call(&consumer)?;
        Ok((consumer, value))
    })
    .await?
}

/// Refuses to move positions under processors that are still running: a group with
/// positions on `source` must have no members.
async fn refuse_running_processors(
    event_log: &EventLogSettings,
    db: &healthpipe_storage::Pool,
    source: &str,
) -> Result<()> {
    let groups = offsets::groups_on(&db.get().await?, source).await?;
    let probe = consumer(event_log, "reencrypt-groups")?;
    let (_, running) = blocking(probe, move |c| {
        let mut running = Vec::new();
        for group in groups {
            let list = c.fetch_group_list(Some(&group), KAFKA_TIMEOUT)?;
            let members: usize = list.groups().iter().map(|g| g.members().len()).sum();
            if members > 0 {
                running.push(format!("{group} ({members} running)"));
            }
        }
        Ok(running)
    })
    .await?;
    if !running.is_empty() {
        bail!(
            "stop the processors before --switch: {}",
            running.join(", ")
        );
    }
    Ok(())
}

/// Moves every group's positions on `source` to the target, each to the first copy of a
/// message at or after it, in one transaction that holds the source positions; refused if
/// the source grew after the copy (a gateway still writing to it).
async fn switch(
    args: &ReencryptArgs,
    db: &healthpipe_storage::Pool,
    source: &str,
    copied_to: &HashMap<i32, i64>,
) -> Result<BTreeMap<String, BTreeMap<i32, i64>>> {
    let mut client = db.get().await?;
    let tx = client.transaction().await?;
    let positions = offsets::on_topic(&tx, source).await?;
    let mut wanted: HashMap<i32, Vec<i64>> = HashMap::new();
    for position in &positions {
        wanted
            .entry(position.partition)
            .or_default()
            .push(position.next_offset);
    }
    let reader = consumer_with(&args.event_log, "reencrypt-switch", false)?;
    let (reader, translated) = blocking(reader, {
        let target = args.to.clone();
        move |c| translate(c, &target, wanted)
    })
    .await?;
    let (_, now) = blocking(reader, {
        let source = source.to_string();
        move |c| ends(c, &source)
    })
    .await?;
    if now != *copied_to {
        bail!(
            "{source} grew during the copy: stop every gateway, then run this again \
             (the copy resumes where it stopped)"
        );
    }
    let mut moved: BTreeMap<String, BTreeMap<i32, i64>> = BTreeMap::new();
    for position in positions {
        let next = translated[&(position.partition, position.next_offset)];
        moved
            .entry(position.group)
            .or_default()
            .insert(position.partition, next);
    }
    for (group, next) in &moved {
        let next: HashMap<i32, i64> = next.iter().map(|(p, o)| (*p, *o)).collect();
        offsets::place(&tx, group, &args.to, &next).await?;
    }
    tx.commit().await?;
    Ok(moved)
}

/// For each partition and source offset wanted, the offset in `target` of the first copy of
/// a message at or after it (the partition's end if there is none): one pass over each
/// partition that has a position, reading headers only.
fn translate(
    consumer: &BaseConsumer,
    target: &str,
    wanted: HashMap<i32, Vec<i64>>,
) -> Result<HashMap<(i32, i64), i64>> {
    let mut translated = HashMap::new();
    for (partition, mut offsets) in wanted {
        offsets.sort_unstable();
        offsets.dedup();
        let (low, high) = consumer.fetch_watermarks(target, partition, KAFKA_TIMEOUT)?;
        let mut remaining = offsets.into_iter().peekable();
        let mut list = rdkafka::TopicPartitionList::new();
        list.add_partition_offset(target, partition, Offset::Offset(low))?;
        consumer.assign(&list)?;
        let (mut at, mut heard) = (low, std::time::Instant::now());
        while at < high && remaining.peek().is_some() {
            let copy = match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(copy)) if copy.partition() == partition && copy.offset() >= at => copy,
                Some(Err(e)) if !matches!(e, rdkafka::error::KafkaError::PartitionEOF(_)) => {
                    return Err(e.into())
                }
                _ if heard.elapsed() > KAFKA_TIMEOUT => {
                    bail!("{target}[{partition}]: nothing read after offset {at} for {KAFKA_TIMEOUT:?}")
                }
                _ => continue,
            };
            let from = source_offset(&copy).with_context(|| {
                format!("{target}[{partition}] offset {}: not a copy", copy.offset())
            })?;
            while let Some(&wanted) = remaining.peek() {
                if wanted > from {
                    break;
                }
                translated.insert((partition, wanted), copy.offset());
                remaining.next();
            }
            (at, heard) = (copy.offset() + 1, std::time::Instant::now());
        }
        for wanted in remaining {
            translated.insert((partition, wanted), high);
        }
    }
    Ok(translated)
}
