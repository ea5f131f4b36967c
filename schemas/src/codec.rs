//! Confluent wire format (magic byte 0, 4-byte big-endian schema id, Avro binary) through
//! `schema_registry_converter`, with the TopicRecordNameStrategy: several record types share
//! one topic, each under the subject `<topic>-<record full name>`.
//!
//! Events about a user are sealed (see [`crate::events`]): the content is encoded on its own
//! (Confluent wire format, subject `healthpipe.content.<Name>`), encrypted with the user's
//! data key, and carried in the envelope's `sealed` bytes. Decoding opens the envelope with
//! the key from a [`Keyring`] and decodes the content as before. Events written in clear
//! before encryption still decode, from the older envelope version's fields.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, PoisonError, RwLock};

use apache_avro::types::Value;
use apache_avro::Schema;
use schema_registry_converter::async_impl::avro::{AvroDecoder, AvroEncoder};
use schema_registry_converter::async_impl::schema_registry::SrSettings;
use schema_registry_converter::error::SRCError;
use schema_registry_converter::schema_registry_common::{
    SchemaType, SubjectNameStrategy, SuppliedSchema,
};

use healthpipe_crypto::{open, seal, Aad, DataKey, Keyring, Lookup};

use crate::events::*;
use crate::fast_decode::decode_samples_recorded;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The registry could not be reached or answered with a server error: try again later.
    #[error("schema registry unavailable: {0}")]
    RegistryUnavailable(String),
    /// The bytes, the schema id or the record cannot be decoded: retrying will not help.
    #[error("undecodable event: {0}")]
    Undecodable(String),
    /// A record type this code does not know (written by a newer producer).
    #[error("unknown record type {0}")]
    UnknownRecord(String),
    /// The sealed content does not authenticate: tampered, or sealed with another key or
    /// for another event. Never retried: the message goes to the dead-letter topic.
    #[error("{record}: {reason}")]
    Unauthentic { record: String, reason: String },
    /// Our own value did not fit its schema: a bug.
    #[error("cannot encode {record}: {reason}")]
    Encode {
        record: &'static str,
        reason: String,
    },
}

impl CodecError {
    /// Whether waiting and retrying may succeed (registry down) as opposed to a poison message.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RegistryUnavailable(_))
    }

    /// The converter marks only transport errors, 502 and 503 as retriable; a registry
    /// answering 500 is broken for now, not the message, so that is retried as well and
    /// never sends a good message to the dead-letter topic.
    fn from_src(e: SRCError) -> Self {
        let text = e.to_string();
        if e.retriable || text.contains("failed with status 5") {
            Self::RegistryUnavailable(text)
        } else {
            Self::Undecodable(text)
        }
    }
}

/// Encodes and decodes events; caches schemas and ids, so it is cheap to share.
pub struct EventCodec {
    encoder: AvroEncoder,
    decoder: AvroDecoder,
    /// Per writer schema id, whether it is exactly our `SamplesRecorded` schema, so that
    /// message can skip the generic `Value` tree (see [`crate::decode_samples_recorded`]).
    /// Ids are immutable in a registry, so an answer never goes stale.
    current_samples_ids: RwLock<HashMap<u32, bool>>,
    /// Messages decoded by the direct path, for metrics and tests.
    direct_decodes: AtomicU64,
}

/// The Parsing Canonical Form of our `SamplesRecorded` schema: two schemas with the same
/// form have the same binary encoding. `None` (never expected: a test parses every .avsc)
/// would only turn the direct path off.
static CURRENT_SAMPLES_FORM: LazyLock<Option<String>> = LazyLock::new(|| {
    Schema::parse_str(SamplesRecorded::CONTENT_SCHEMA)
        .ok()
        .map(|s| s.canonical_form())
});

/// The same fields under the event's name: a `SamplesRecorded` written in clear before
/// encryption, whose binary encoding is the content's.
static CLEAR_SAMPLES_FORM: LazyLock<Option<String>> = LazyLock::new(|| {
    Schema::parse_str(&in_clear_form(SamplesRecorded::CONTENT_SCHEMA))
        .ok()
        .map(|s| s.canonical_form())
});

impl EventCodec {
    pub fn new(registry_url: &str) -> Self {
        let settings = || SrSettings::new(registry_url.trim_end_matches('/').to_string());
        Self {
            encoder: AvroEncoder::new(settings()),
            decoder: AvroDecoder::new(settings()),
            current_samples_ids: RwLock::new(HashMap::new()),
            direct_decodes: AtomicU64::new(0),
        }
    }

    /// How many messages `decode_user_event` decoded with the direct `SamplesRecorded`
    /// decoder rather than the generic path.
    pub fn direct_decodes(&self) -> u64 {
        self.direct_decodes.load(Ordering::Relaxed)
    }

    /// Encodes `event` for `topic`, sealed with its user's data `key`, registering the
    /// envelope's schema under `<topic>-<full name>` and the content's under its full name
    /// on first use (the registry answers the existing id if it is already there).
    pub async fn encode<E: Event>(
        &self,
        topic: &str,
        event: &E,
        key: &DataKey,
    ) -> Result<Vec<u8>, CodecError> {
        let content = self
            .encoder
            .encode_struct(event, &content_strategy::<E>())
            .await
            .map_err(|e| encode_error(E::CONTENT_NAME, e))?;
        let sealed = seal(key, aad(event.user_id(), event.event_id()), &content);
        let envelope = vec![
            ("event_id", Value::String(event.event_id().to_string())),
            ("user_id", Value::String(event.user_id().to_string())),
            (E::CLEAR_TIME, event.clear_time()),
            ("sealed", Value::Union(1, Box::new(Value::Bytes(sealed)))),
        ];
        self.encoder
            .encode(envelope, strategy::<E>(topic))
            .await
            .map_err(|e| encode_error(E::FULL_NAME, e))
    }

    /// Encodes `event` in clear, as producers wrote it before encryption (the content's
    /// fields under the event's name, registered under `<topic>-<full name>`). Only for
    /// tests and the benchmark's comparison with encryption off: services never write it.
    pub async fn encode_in_clear<E: Event>(
        &self,
        topic: &str,
        event: &E,
    ) -> Result<Vec<u8>, CodecError> {
        if !E::CONTENT_SCHEMA.contains(CONTENT_NAMESPACE) {
            return Err(CodecError::Encode {
                record: E::FULL_NAME,
                reason: format!("its content schema does not say {CONTENT_NAMESPACE}"),
            });
        }
        let schema = in_clear_form(E::CONTENT_SCHEMA);
        let strategy = SubjectNameStrategy::TopicRecordNameStrategyWithSchema(
            topic.to_string(),
            SuppliedSchema::new(Some(E::FULL_NAME.to_string()), SchemaType::Avro, schema),
        );
        self.encoder
            .encode_struct(event, &strategy)
            .await
            .map_err(|e| encode_error(E::FULL_NAME, e))
    }

    /// Encodes the one event that is not sealed, an erasure (there is no key left).
    pub async fn encode_erasure(
        &self,
        topic: &str,
        event: &UserErased,
    ) -> Result<Vec<u8>, CodecError> {
        let strategy = SubjectNameStrategy::TopicRecordNameStrategyWithSchema(
            topic.to_string(),
            SuppliedSchema::new(
                Some(UserErased::FULL_NAME.to_string()),
                SchemaType::Avro,
                UserErased::SCHEMA.to_string(),
            ),
        );
        self.encoder
            .encode_struct(event, &strategy)
            .await
            .map_err(|e| encode_error(UserErased::FULL_NAME, e))
    }

    /// How a message of the per-user stream was written; an event written in clear before
    /// encryption comes decoded.
    pub async fn written(&self, bytes: &[u8]) -> Result<Written, CodecError> {
        let (name, value) = self.decode_value(bytes).await?;
        if name == UserErased::FULL_NAME {
            return Ok(Written::Erasure);
        }
        match sealed_part(&name, &value)? {
            Some(_) => Ok(Written::Sealed),
            None => Ok(Written::InClear(Box::new(user_event(&name, &value)?))),
        }
    }

    /// Encodes any event of the per-user stream as the gateway writes it: sealed with `key`,
    /// an erasure in clear.
    pub async fn encode_user_event(
        &self,
        topic: &str,
        event: &UserEvent,
        key: &DataKey,
    ) -> Result<Vec<u8>, CodecError> {
        match event {
            UserEvent::SamplesRecorded(e) => self.encode(topic, e, key).await,
            UserEvent::SamplesDeleted(e) => self.encode(topic, e, key).await,
            UserEvent::UserRegistered(e) => self.encode(topic, e, key).await,
            UserEvent::UserTimeZoneChanged(e) => self.encode(topic, e, key).await,
            UserEvent::DeviceRegistered(e) => self.encode(topic, e, key).await,
            UserEvent::DevicePriorityChanged(e) => self.encode(topic, e, key).await,
            UserEvent::ShareGranted(e) => self.encode(topic, e, key).await,
            UserEvent::ShareRedeemed(e) => self.encode(topic, e, key).await,
            UserEvent::ShareRevoked(e) => self.encode(topic, e, key).await,
            UserEvent::InsightAcknowledged(e) => self.encode(topic, e, key).await,
            UserEvent::UserErased(e) => self.encode_erasure(topic, e).await,
        }
    }

    /// Decodes one message of the per-user stream, opening it with its user's key from
    /// `keys`: [`Opened::Erased`] when the key store has no key for the user any more.
    pub async fn decode_user_event(
        &self,
        bytes: &[u8],
        keys: &Keyring,
    ) -> Result<Opened<UserEvent>, CodecError> {
        // Samples written in clear before encryption: the direct path too.
        if let Some(event) = self.decode_direct(bytes).await? {
            return not_erased(UserEvent::SamplesRecorded(event), UserEvent::user_id, keys);
        }
        let (name, value) = self.decode_value(bytes).await?;
        if name == UserErased::FULL_NAME {
            return Ok(Opened::Event(UserEvent::UserErased(from_value(&value)?)));
        }
        match sealed_part(&name, &value)? {
            Some(sealed) => match open_sealed(&name, &sealed, keys)? {
                Some(content) => Ok(Opened::Event(self.decode_user_content(&content).await?)),
                None => Ok(Opened::Erased),
            },
            // Written in clear before encryption: the older version's fields are the content.
            None => not_erased(user_event(&name, &value)?, UserEvent::user_id, keys),
        }
    }

    /// Any event as JSON, for operators' tools: its record name, and its content opened with
    /// `keys` (events in clear as they are; with no keys, the envelope as it is).
    /// `Opened::Erased` when the user's key is gone.
    pub async fn open_to_json(
        &self,
        bytes: &[u8],
        keys: Option<&Keyring>,
    ) -> Result<(String, Opened<serde_json::Value>), CodecError> {
        let (name, value) = self.decode_value(bytes).await?;
        let sealed = match keys {
            Some(keys) => sealed_part(&name, &value)?.map(|sealed| (sealed, keys)),
            None => None,
        };
        let value = match sealed {
            None => value,
            Some((sealed, keys)) => match open_sealed(&name, &sealed, keys)? {
                None => return Ok((name, Opened::Erased)),
                Some(content) => self.decode_value(&content).await?.1,
            },
        };
        let json = serde_json::Value::try_from(value)
            .map_err(|e| CodecError::Undecodable(format!("{name}: {e}")))?;
        Ok((name, Opened::Event(json)))
    }

    /// Decodes the content of a user-stream event. A `SamplesRecorded` written with exactly
    /// our schema is read directly; anything else (other records, older or newer versions)
    /// goes through the generic path, which resolves schema differences.
    async fn decode_user_content(&self, bytes: &[u8]) -> Result<UserEvent, CodecError> {
        if let Some(event) = self.decode_direct(bytes).await? {
            return Ok(UserEvent::SamplesRecorded(event));
        }
        let (name, value) = self.decode_value(bytes).await?;
        user_event(&name, &value)
    }

    /// The full name of the record a message holds, read from its writer schema alone
    /// (cached per schema id), so a reader that wants one record type of a shared topic
    /// skips the others without decoding them.
    pub async fn record_name(&self, bytes: &[u8]) -> Result<String, CodecError> {
        let (id, _) = split_header(bytes)
            .ok_or_else(|| CodecError::Undecodable("no Confluent wire-format header".into()))?;
        let schema = self
            .decoder
            .get_schema(id)
            .await
            .map_err(CodecError::from_src)?;
        schema
            .parsed
            .name()
            .map(|n| n.fullname(None))
            .ok_or_else(|| CodecError::Undecodable("schema is not a named record".into()))
    }

    /// Decodes a message known to hold one record type (topics with a single type),
    /// opening it with its user's key from `keys`.
    pub async fn decode<E: Event>(
        &self,
        bytes: &[u8],
        keys: &Keyring,
    ) -> Result<Opened<E>, CodecError> {
        let (name, value) = self.decode_value(bytes).await?;
        if name != E::FULL_NAME {
            return Err(CodecError::UnknownRecord(name));
        }
        let Some(sealed) = sealed_part(&name, &value)? else {
            return not_erased(from_value::<E>(&value)?, |e| e.user_id(), keys);
        };
        let Some(content) = open_sealed(&name, &sealed, keys)? else {
            return Ok(Opened::Erased);
        };
        let (content_name, content_value) = self.decode_value(&content).await?;
        if content_name != E::CONTENT_NAME {
            return Err(CodecError::UnknownRecord(content_name));
        }
        Ok(Opened::Event(from_value(&content_value)?))
    }

    /// The direct path: `None` when the message is not a `SamplesRecorded` written with our
    /// exact schema, as sealed content or in clear (or has no valid header), so the caller
    /// falls back to the generic path.
    async fn decode_direct(&self, bytes: &[u8]) -> Result<Option<SamplesRecorded>, CodecError> {
        let Some((id, body)) = split_header(bytes) else {
            return Ok(None);
        };
        if !self.is_current_samples_schema(id).await? {
            return Ok(None);
        }
        let event = decode_samples_recorded(body)?;
        self.direct_decodes.fetch_add(1, Ordering::Relaxed);
        Ok(Some(event))
    }

    /// Whether writer schema `id` is exactly our `SamplesRecorded` schema (content or clear
    /// form). The first message
    /// of an id fetches the schema through the decoder (whose cache the generic path then
    /// reuses); a registry outage is `RegistryUnavailable` and is not remembered.
    async fn is_current_samples_schema(&self, id: u32) -> Result<bool, CodecError> {
        if let Some(is_current) = self.known_samples_id(id) {
            return Ok(is_current);
        }
        let schema = self
            .decoder
            .get_schema(id)
            .await
            .map_err(CodecError::from_src)?;
        let form = schema.parsed.canonical_form();
        let is_current = [&*CURRENT_SAMPLES_FORM, &*CLEAR_SAMPLES_FORM]
            .into_iter()
            .any(|ours| ours.as_deref() == Some(form.as_str()));
        self.current_samples_ids
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, is_current);
        Ok(is_current)
    }

    fn known_samples_id(&self, id: u32) -> Option<bool> {
        let known = self.current_samples_ids.read();
        known
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .copied()
    }

    async fn decode_value(&self, bytes: &[u8]) -> Result<(String, Value), CodecError> {
        let decoded = self
            .decoder
            .decode(Some(bytes))
            .await
            .map_err(CodecError::from_src)?;
        let name = decoded
            .name
            .map(|n| n.fullname(None))
            .ok_or_else(|| CodecError::Undecodable("schema is not a named record".into()))?;
        Ok((name, decoded.value))
    }
}

/// The schema id and Avro body of a Confluent wire-format message, `None` if the header is
/// missing (the generic path reports that).
fn split_header(bytes: &[u8]) -> Option<(u32, &[u8])> {
    match bytes {
        [0, a, b, c, d, body @ ..] => Some((u32::from_be_bytes([*a, *b, *c, *d]), body)),
        _ => None,
    }
}

/// How a message of the per-user stream was written (see [`EventCodec::written`]).
#[derive(Debug)]
pub enum Written {
    /// Sealed with its user's data key.
    Sealed,
    /// In clear, before encryption.
    InClear(Box<UserEvent>),
    /// An erasure, which is never sealed.
    Erasure,
}

/// What a sealed message opened to.
#[derive(Debug)]
pub enum Opened<T> {
    Event(T),
    /// The user's key is gone (erased): the content can never be read again.
    Erased,
}

/// An event written in clear, unless `keys` says its user's key is gone: an erased user's
/// events are not read, whether sealed or from before encryption.
fn not_erased<T>(
    event: T,
    user_id: impl Fn(&T) -> &str,
    keys: &Keyring,
) -> Result<Opened<T>, CodecError> {
    Ok(match keys.get(user_id(&event)) {
        Lookup::Gone => Opened::Erased,
        Lookup::Key(_) | Lookup::NotLoaded => Opened::Event(event),
    })
}

/// What a sealed payload of `user`'s event `event_id` is bound to.
fn aad<'a>(user: &'a str, event_id: &'a str) -> Aad<'a> {
    Aad {
        owner: user,
        record: event_id,
    }
}

/// The envelope's user, event id and sealed bytes; `None` for an event written in clear.
struct Sealed {
    user_id: String,
    event_id: String,
    bytes: Vec<u8>,
}

fn sealed_part(name: &str, value: &Value) -> Result<Option<Sealed>, CodecError> {
    let Value::Record(fields) = value else {
        return Err(CodecError::Undecodable(format!("{name} is not a record")));
    };
    let field = |wanted: &str| fields.iter().find(|(n, _)| n == wanted).map(|(_, v)| v);
    let bytes = match field("sealed") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Union(_, inner)) => match inner.as_ref() {
            Value::Null => return Ok(None),
            Value::Bytes(b) => b.clone(),
            _ => {
                return Err(CodecError::Undecodable(format!(
                    "{name}.sealed is not bytes"
                )))
            }
        },
        Some(Value::Bytes(b)) => b.clone(),
        Some(_) => {
            return Err(CodecError::Undecodable(format!(
                "{name}.sealed is not bytes"
            )))
        }
    };
    let text = |wanted: &str| match field(wanted) {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(CodecError::Undecodable(format!(
            "{name}.{wanted} is missing"
        ))),
    };
    Ok(Some(Sealed {
        user_id: text("user_id")?,
        event_id: text("event_id")?,
        bytes,
    }))
}

/// The content's bytes, `None` when the user's key is gone.
fn open_sealed(name: &str, sealed: &Sealed, keys: &Keyring) -> Result<Option<Vec<u8>>, CodecError> {
    let key = match keys.get(&sealed.user_id) {
        Lookup::Key(key) => key,
        Lookup::Gone => return Ok(None),
        Lookup::NotLoaded => {
            return Err(CodecError::Unauthentic {
                record: name.to_string(),
                reason: "the event's user_id is not the user its message key names".into(),
            })
        }
    };
    open(key, aad(&sealed.user_id, &sealed.event_id), &sealed.bytes)
        .map(Some)
        .map_err(|e| CodecError::Unauthentic {
            record: name.to_string(),
            reason: e.to_string(),
        })
}

/// A user-stream event from its record's full name (envelope or content) and fields.
fn user_event(name: &str, value: &Value) -> Result<UserEvent, CodecError> {
    let short = name
        .strip_prefix("healthpipe.events.")
        .or_else(|| name.strip_prefix("healthpipe.content."))
        .unwrap_or(name);
    Ok(match short {
        "SamplesRecorded" => UserEvent::SamplesRecorded(from_value(value)?),
        "SamplesDeleted" => UserEvent::SamplesDeleted(from_value(value)?),
        "UserRegistered" => UserEvent::UserRegistered(from_value(value)?),
        "UserTimeZoneChanged" => UserEvent::UserTimeZoneChanged(from_value(value)?),
        "DeviceRegistered" => UserEvent::DeviceRegistered(from_value(value)?),
        "DevicePriorityChanged" => UserEvent::DevicePriorityChanged(from_value(value)?),
        "ShareGranted" => UserEvent::ShareGranted(from_value(value)?),
        "ShareRedeemed" => UserEvent::ShareRedeemed(from_value(value)?),
        "ShareRevoked" => UserEvent::ShareRevoked(from_value(value)?),
        "InsightAcknowledged" => UserEvent::InsightAcknowledged(from_value(value)?),
        _ => return Err(CodecError::UnknownRecord(name.to_string())),
    })
}

fn encode_error(record: &'static str, e: SRCError) -> CodecError {
    match CodecError::from_src(e) {
        CodecError::Undecodable(reason) => CodecError::Encode { record, reason },
        other => other,
    }
}

/// The content's subject is its full record name: one content type, wherever it travels.
fn content_strategy<E: Event>() -> SubjectNameStrategy {
    SubjectNameStrategy::RecordNameStrategyWithSchema(SuppliedSchema::new(
        Some(E::CONTENT_NAME.to_string()),
        SchemaType::Avro,
        E::CONTENT_SCHEMA.to_string(),
    ))
}

/// The namespace line of the content schemas, and of the events' (clear) ones.
const CONTENT_NAMESPACE: &str = r#""namespace": "healthpipe.content""#;
const EVENTS_NAMESPACE: &str = r#""namespace": "healthpipe.events""#;

/// A content schema as events were written before encryption: its fields under the
/// event's name.
fn in_clear_form(content_schema: &str) -> String {
    content_schema.replace(CONTENT_NAMESPACE, EVENTS_NAMESPACE)
}

fn strategy<E: Event>(topic: &str) -> SubjectNameStrategy {
    SubjectNameStrategy::TopicRecordNameStrategyWithSchema(
        topic.to_string(),
        SuppliedSchema::new(
            Some(E::FULL_NAME.to_string()),
            SchemaType::Avro,
            E::SCHEMA.to_string(),
        ),
    )
}

fn from_value<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, CodecError> {
    apache_avro::from_value(value).map_err(|e| {
        let name = std::any::type_name::<T>()
            .rsplit("::")
            .next()
            .unwrap_or("event");
        CodecError::Undecodable(format!("{name}: {e}"))
    })
}
