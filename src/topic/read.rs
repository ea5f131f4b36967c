//! `healthpipe topic read`: the messages of a topic in a time range as JSON Lines, for
//! analysts and operators. Without `--decrypt` it shows what any Kafka client sees (the clear
//! fields and the size of the ciphertext); with it, the content opened with the users' keys,
//! which needs the key store and the key-encryption keys, and is recorded in `topic_reads`
//! (who, when, which topic and range) before the first message is read.

use std::collections::HashMap;
use std::io::Write;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use healthpipe_config::{EventLogSettings, KeySettings};
use healthpipe_crypto::{Keyring, LocalKeyProvider};
use healthpipe_schemas::{EventCodec, Opened};
use healthpipe_storage::accounts::keys;
use healthpipe_storage::audit::{self, TopicRead};
use rdkafka::consumer::Consumer;
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{consumer, full_name, partitions, Messages, KAFKA_TIMEOUT};

#[derive(Debug, Clone, clap::Args)]
pub struct TopicReadArgs {
    /// The topic: `user-events`, `aggregates-updated`, `insights`, `dead-letter`, or a full name.
    pub topic: String,
    /// First message time (RFC 3339), included.
    #[arg(long)]
    pub from: DateTime<Utc>,
    /// Last message time (RFC 3339), excluded.
    #[arg(long)]
    pub to: DateTime<Utc>,
    /// Only this user's messages.
    #[arg(long)]
    pub user: Option<Uuid>,
    /// Open the content with the users' keys (recorded in `topic_reads`).
    #[arg(long)]
    pub decrypt: bool,
    /// Who reads, for the record [default: $USER].
    #[arg(long, env = "USER")]
    pub operator: Option<String>,
    #[command(flatten)]
    pub event_log: EventLogSettings,
    /// The key store (and the record of decrypting reads).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    #[command(flatten)]
    pub keys: KeySettings,
}

/// Prints the messages of the range to `out`, one JSON object per line; returns how many.
pub async fn read(args: TopicReadArgs, out: &mut impl Write) -> Result<i64> {
    if args.from >= args.to {
        bail!("--from must be before --to");
    }
    let topic = full_name(&args.event_log, &args.topic);
    let mut opener = match args.decrypt {
        true => Some(Opener::start(&args, &topic).await?),
        false => None,
    };
    let codec = EventCodec::new(&args.event_log.registry_url);
    let mut messages = assigned(&args.event_log, &topic, args.from).await?;
    let mut printed = 0;
    while let Some(message) = messages.next().await? {
        let Some(at) = message.timestamp().to_millis() else {
            continue;
        };
        let key = message
            .key()
            .map(|k| String::from_utf8_lossy(k).into_owned());
        if at >= args.to.timestamp_millis()
            || args
                .user
                .is_some_and(|u| key.as_deref() != Some(&u.to_string()))
        {
            continue;
        }
        let payload = message.payload().unwrap_or_default();
        let ring = match (&mut opener, &key) {
            (Some(opener), Some(key)) => Some(opener.keyring(key).await?),
            (Some(_), None) => Some(Keyring::default()),
            (None, _) => None,
        };
        let shown = match codec.open_to_json(payload, ring.as_ref()).await {
            Ok((record, Opened::Event(event))) if opener.is_some() => {
                json!({"record": record, "event": event})
            }
            Ok((record, Opened::Event(event))) => json!({"record": record, "event": hide(event)}),
            Ok((record, Opened::Erased)) => json!({"record": record, "erased": true}),
            Err(e) => json!({"undecodable": e.to_string()}),
        };
        let line = json!({
            "partition": message.partition(),
            "offset": message.offset(),
            "timestamp_ms": at,
            "key": key,
            "value": shown,
        });
        serde_json::to_writer(&mut *out, &line)?;
        out.write_all(b"\n")?;
        printed += 1;
    }
    if let Some(opener) = opener {
        opener.finish(printed).await?;
    }
    Ok(printed)
}

/// Without the keys: the clear fields, and the ciphertext's size instead of its bytes.
fn hide(event: Value) -> Value {
    match event {
        Value::Object(mut fields) => {
            if let Some(Value::Array(bytes)) = fields.remove("sealed") {
                fields.insert("sealed_bytes".into(), json!(bytes.len()));
            }
            Value::Object(fields)
        }
        other => other,
    }
}

/// The keys of a decrypting read, and its record.
struct Opener {
    db: healthpipe_storage::Pool,
    provider: LocalKeyProvider,
    ring: HashMap<String, Keyring>,
    read_id: i64,
}

impl Opener {
    async fn start(args: &TopicReadArgs, topic: &str) -> Result<Self> {
        let url = args
            .database_url
            .as_deref()
            .context("--decrypt needs DATABASE_URL: the key store, and the record of the read")?;
        let operator = args
            .operator
            .as_deref()
            .filter(|o| !o.trim().is_empty())
            .context("--decrypt needs --operator (or $USER): who reads is recorded")?;
        let spec = args.keys.spec().map_err(anyhow::Error::msg)?;
        let provider = LocalKeyProvider::parse(&spec)?;
        let db = healthpipe_storage::connect(url, 1)?;
        let read = TopicRead {
            operator,
            topic,
            from: args.from,
            to: args.to,
            user: args.user,
        };
        let read_id = audit::start_topic_read(&db.get().await?, &read).await?;
        Ok(Opener {
            db,
            provider,
            ring: HashMap::new(),
            read_id,
        })
    }

    /// The key of the user a message key names (none for a key that is no user id).
    async fn keyring(&mut self, key: &str) -> Result<Keyring> {
        if let Some(ring) = self.ring.get(key) {
            return Ok(ring.clone());
        }
        let users: Vec<Uuid> = Uuid::parse_str(key).into_iter().collect();
        let ring = keys::keyring(&self.db.get().await?, &self.provider, &users).await?;
        self.ring.insert(key.to_string(), ring.clone());
        Ok(ring)
    }

    async fn finish(self, printed: i64) -> Result<()> {
        audit::finish_topic_read(&self.db.get().await?, self.read_id, printed).await?;
        Ok(())
    }
}

/// A consumer of every partition of `topic` from the first message at or after `from`.
async fn assigned(
    event_log: &EventLogSettings,
    topic: &str,
    from: DateTime<Utc>,
) -> Result<Messages> {
    let consumer = consumer(event_log, "topic-read")?;
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || -> Result<Messages> {
        let mut wanted = TopicPartitionList::new();
        for p in partitions(&consumer, &topic)? {
            wanted.add_partition_offset(&topic, p, Offset::Offset(from.timestamp_millis()))?;
        }
        let starts: Vec<(i32, Offset)> = consumer
            .offsets_for_times(wanted, KAFKA_TIMEOUT)?
            .elements()
            .iter()
            .map(|e| (e.partition(), e.offset()))
            .collect();
        Messages::new(consumer, &topic, &starts, &HashMap::new())
    })
    .await?
}
