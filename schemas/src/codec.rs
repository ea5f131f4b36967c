//! Confluent wire format (magic byte 0, 4-byte big-endian schema id, Avro binary) through
//! `schema_registry_converter`, with the TopicRecordNameStrategy: several record types share
//! one topic, each under the subject `<topic>-<record full name>`.

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
    Schema::parse_str(SamplesRecorded::SCHEMA)
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

    /// Encodes `event` for `topic`, registering its schema under `<topic>-<full name>` on
    /// first use (the registry answers the existing id if it is already there).
    pub async fn encode<E: Event>(&self, topic: &str, event: &E) -> Result<Vec<u8>, CodecError> {
        let strategy = strategy::<E>(topic);
        self.encoder
            .encode_struct(event, &strategy)
            .await
            .map_err(|e| match CodecError::from_src(e) {
                CodecError::Undecodable(reason) => CodecError::Encode {
                    record: E::FULL_NAME,
                    reason,
                },
                other => other,
            })
    }

    /// Decodes one message of the per-user stream. A `SamplesRecorded` written with exactly
    /// our schema is read directly; anything else (other records, older or newer versions)
    /// goes through the generic path, which resolves schema differences.
    pub async fn decode_user_event(&self, bytes: &[u8]) -> Result<UserEvent, CodecError> {
        if let Some(event) = self.decode_direct(bytes).await? {
            return Ok(UserEvent::SamplesRecorded(event));
        }
        let (name, value) = self.decode_value(bytes).await?;
        Ok(match name.as_str() {
            SamplesRecorded::FULL_NAME => UserEvent::SamplesRecorded(from_value(&value)?),
            SamplesDeleted::FULL_NAME => UserEvent::SamplesDeleted(from_value(&value)?),
            UserRegistered::FULL_NAME => UserEvent::UserRegistered(from_value(&value)?),
            UserTimeZoneChanged::FULL_NAME => UserEvent::UserTimeZoneChanged(from_value(&value)?),
            DeviceRegistered::FULL_NAME => UserEvent::DeviceRegistered(from_value(&value)?),
            DevicePriorityChanged::FULL_NAME => {
                UserEvent::DevicePriorityChanged(from_value(&value)?)
            }
            ShareGranted::FULL_NAME => UserEvent::ShareGranted(from_value(&value)?),
            ShareRevoked::FULL_NAME => UserEvent::ShareRevoked(from_value(&value)?),
            InsightAcknowledged::FULL_NAME => UserEvent::InsightAcknowledged(from_value(&value)?),
            other => return Err(CodecError::UnknownRecord(other.to_string())),
        })
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

    /// Decodes a message known to hold one record type (topics with a single type).
    pub async fn decode<E: Event>(&self, bytes: &[u8]) -> Result<E, CodecError> {
        let (name, value) = self.decode_value(bytes).await?;
        if name != E::FULL_NAME {
            return Err(CodecError::UnknownRecord(name));
        }
        from_value(&value)
    }

    /// The direct path: `None` when the message is not a `SamplesRecorded` written with our
    /// exact schema (or has no valid header), so the caller falls back to the generic path.
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

    /// Whether writer schema `id` is exactly our `SamplesRecorded` schema. The first message
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
        let is_current = CURRENT_SAMPLES_FORM
            .as_deref()
            .is_some_and(|ours| schema.parsed.canonical_form() == ours);
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

fn from_value<E: Event>(value: &Value) -> Result<E, CodecError> {
    apache_avro::from_value(value)
        .map_err(|e| CodecError::Undecodable(format!("{}: {e}", E::FULL_NAME)))
}
