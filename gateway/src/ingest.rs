//! The pure part of a sync: body bytes in, normalised event samples and per-sample rejections
//! out. No I/O and no clock of its own (`now` is a parameter), so it can be fed arbitrary bytes
//! in property tests; it never panics on any input.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, Utc};
use healthpipe_domain::{parse_uuid, validate, DeviceId, RawSample, SampleId, UserId, ValidSample};
use healthpipe_schemas::Sample;
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::error::{parse_object, ApiError};

/// Most samples one sync may carry; larger uploads must be split by the client.
pub const MAX_SAMPLES_PER_SYNC: usize = 10_000;

/// Rejection codes besides the domain's `ValidationError::code()`s, for samples that do not
/// get as far as validation. Together they are the bounded label set of the rejection metric.
pub const MALFORMED_SAMPLE: &str = "malformed_sample";
pub const INVALID_ID: &str = "invalid_id";
pub const INVALID_SYNC_VERSION: &str = "invalid_sync_version";
pub const INVALID_TEXT: &str = "invalid_text";
pub const TEXT_TOO_LONG: &str = "text_too_long";

/// Longest `source_app`, in characters.
pub const MAX_SOURCE_APP_CHARS: usize = 256;
/// Most metadata entries of one sample.
pub const MAX_METADATA_ENTRIES: usize = 64;
/// Longest metadata key, in characters.
pub const MAX_METADATA_KEY_CHARS: usize = 128;
/// Longest metadata value, in characters (after non-strings are written as JSON).
pub const MAX_METADATA_VALUE_CHARS: usize = 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncBody<'a> {
    #[serde(borrow, deserialize_with = "bounded")]
    samples: Samples<'a>,
}

/// The samples of a sync body as slices of the body itself (checked JSON, no tree built):
/// the first [`MAX_SAMPLES_PER_SYNC`] kept, any further ones only counted. Each is parsed
/// into its typed form on its own, so one malformed sample is rejected alone.
#[derive(Debug)]
struct Samples<'a> {
    kept: Vec<&'a RawValue>,
    total: usize,
}

fn bounded<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Samples<'de>, D::Error> {
    struct Bounded;
    impl<'de> Visitor<'de> for Bounded {
        type Value = Samples<'de>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an array of samples")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Samples<'de>, A::Error> {
            let mut kept = Vec::new();
            while kept.len() < MAX_SAMPLES_PER_SYNC {
                match seq.next_element::<&'de RawValue>()? {
                    Some(sample) => kept.push(sample),
                    None => {
                        let total = kept.len();
                        return Ok(Samples { kept, total });
                    }
                }
            }
            let mut total = kept.len();
            while seq.next_element::<IgnoredAny>()?.is_some() {
                total += 1;
            }
            Ok(Samples { kept, total })
        }
    }
    deserializer.deserialize_seq(Bounded)
}

/// One sample as the client sends it (or as an import reads it from a file).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSample {
    id: Option<String>,
    #[serde(rename = "type")]
    sample_type: String,
    value: f64,
    unit: String,
    start_date: DateTime<FixedOffset>,
    end_date: DateTime<FixedOffset>,
    source_app: Option<String>,
    #[serde(default)]
    metadata: Option<HashMap<String, serde_json::Value>>,
}

/// A sync body, sorted into what will be appended and what was refused.
#[derive(Debug)]
pub struct ParsedSync {
    pub accepted: Vec<Sample>,
    pub rejected: Vec<Rejection>,
}

/// Why the sample at `index` was refused: `code` for metrics, `message` for the client.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub index: usize,
    pub code: &'static str,
    pub message: String,
}

/// The answer of a sync (200, or 422 when no sample was valid).
#[derive(Debug, Serialize)]
pub struct SyncResponse {
    pub synced: usize,
    pub errors: usize,
    pub error_details: Vec<SampleError>,
}

#[derive(Debug, Serialize)]
pub struct SampleError {
    pub index: usize,
    pub error: String,
}

impl ParsedSync {
    pub fn response(&self) -> SyncResponse {
        SyncResponse {
            synced: self.accepted.len(),
            errors: self.rejected.len(),
            error_details: self
                .rejected
                .iter()
                .map(|r| SampleError {
                    index: r.index,
                    error: r.message.clone(),
                })
                .collect(),
        }
    }

    /// Samples were sent and none was valid: the answer is a 422.
    pub fn all_invalid(&self) -> bool {
        self.accepted.is_empty() && !self.rejected.is_empty()
    }
}

/// Parses a sync body: malformed JSON is a 400 naming the position, a body of another shape a
/// 422, more than [`MAX_SAMPLES_PER_SYNC`] samples a 413; otherwise each sample on its own.
pub fn parse_sync(
    body: &[u8],
    user_id: Uuid,
    device_id: Uuid,
    now: DateTime<Utc>,
) -> Result<ParsedSync, ApiError> {
    let parsed: SyncBody = parse_object(body)?;
    let samples = parsed.samples;
    if samples.total > MAX_SAMPLES_PER_SYNC {
        return Err(ApiError::PayloadTooLarge(format!(
            "{} samples in one sync; at most {MAX_SAMPLES_PER_SYNC}",
            samples.total
        )));
    }
    let mut accepted = Vec::with_capacity(samples.kept.len());
    let mut rejected = Vec::new();
    for (index, raw) in samples.kept.into_iter().enumerate() {
        match to_event_sample(raw, user_id, device_id, now) {
            Ok(sample) => accepted.push(sample),
            Err((code, message)) => rejected.push(Rejection {
                index,
                code,
                message,
            }),
        }
    }
    Ok(ParsedSync { accepted, rejected })
}

/// Parses, validates and normalises one sample; the error's text goes back to the client.
pub fn to_event_sample(
    raw: &RawValue,
    user_id: Uuid,
    device_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Sample, (&'static str, String)> {
    let client: ClientSample =
        serde_json::from_str(raw.get()).map_err(|e| (MALFORMED_SAMPLE, e.to_string()))?;
    normalise(client, user_id, device_id, now)
}

/// Validates and normalises one sample of a device; the error's text goes back to the
/// client. Every way samples come in (a sync, an import) goes through here.
pub fn normalise(
    client: ClientSample,
    user_id: Uuid,
    device_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Sample, (&'static str, String)> {
    let valid: ValidSample = validate(
        &RawSample {
            sample_type: &client.sample_type,
            value: client.value,
            unit: &client.unit,
            start: client.start_date,
            end: client.end_date,
        },
        now,
    )
    .map_err(|e| (e.code(), e.to_string()))?;
    let sample_id = match &client.id {
        Some(id) => {
            parse_uuid(id).ok_or_else(|| (INVALID_ID, format!("id: {id:?} is not a UUID")))?
        }
        // The same measurement re-sent without an id gets the same id: counted once.
        None => {
            SampleId::derive_for(UserId::from(user_id), DeviceId::from(device_id), &valid).into()
        }
    };
    let metadata: HashMap<String, String> = client
        .metadata
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect();
    check_text_lengths(client.source_app.as_deref(), &metadata)?;
    // Downstream text and jsonb columns cannot hold NUL.
    let has_nul = |s: &str| s.contains('\0');
    if client.source_app.as_deref().is_some_and(has_nul)
        || metadata.iter().any(|(k, v)| has_nul(k) || has_nul(v))
    {
        return Err((
            INVALID_TEXT,
            "source_app and metadata must not contain NUL characters".into(),
        ));
    }
    let sync_identifier = ["sync_identifier", "HKMetadataKeySyncIdentifier"]
        .iter()
        .find_map(|k| metadata.get(*k).cloned());
    let sync_version = ["sync_version", "HKMetadataKeySyncVersion"]
        .iter()
        .find_map(|k| metadata.get(*k))
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                (
                    INVALID_SYNC_VERSION,
                    format!("metadata.sync_version: {v:?} is not an integer"),
                )
            })
        })
        .transpose()?;
    Ok(Sample {
        sample_id: sample_id.to_string(),
        sample_type: valid.sample_type().as_str().to_string(),
        value: valid.value(),
        unit: valid.sample_type().canonical_unit().symbol().to_string(),
        start_time: valid.start().timestamp_micros(),
        end_time: valid.end().timestamp_micros(),
        utc_offset_seconds: valid.start_utc_offset_secs(),
        source_app: client.source_app,
        sync_identifier,
        sync_version,
        metadata,
    })
}

/// Caps the free texts of a sample, so that one sample cannot make an event larger than the
/// event log takes, nor a stored row unbounded.
fn check_text_lengths(
    source_app: Option<&str>,
    metadata: &HashMap<String, String>,
) -> Result<(), (&'static str, String)> {
    let too_long = |message: String| Err((TEXT_TOO_LONG, message));
    if source_app.is_some_and(|s| s.chars().count() > MAX_SOURCE_APP_CHARS) {
        return too_long(format!(
            "source_app: at most {MAX_SOURCE_APP_CHARS} characters"
        ));
    }
    if metadata.len() > MAX_METADATA_ENTRIES {
        return too_long(format!(
            "metadata: {} entries, at most {MAX_METADATA_ENTRIES}",
            metadata.len()
        ));
    }
    if metadata
        .keys()
        .any(|k| k.chars().count() > MAX_METADATA_KEY_CHARS)
    {
        return too_long(format!(
            "metadata: keys of at most {MAX_METADATA_KEY_CHARS} characters"
        ));
    }
    if let Some(key) = metadata
        .iter()
        .find(|(_, v)| v.chars().count() > MAX_METADATA_VALUE_CHARS)
        .map(|(k, _)| k)
    {
        return too_long(format!(
            "metadata.{key}: at most {MAX_METADATA_VALUE_CHARS} characters"
        ));
    }
    Ok(())
}

impl From<healthpipe_importer::SyncSample> for ClientSample {
    fn from(s: healthpipe_importer::SyncSample) -> Self {
        ClientSample {
            id: None,
            sample_type: s.sample_type.to_owned(),
            value: s.value,
            unit: s.unit.to_owned(),
            start_date: s.start_date,
            end_date: s.end_date,
            source_app: s.source_app,
            metadata: Some(
                s.metadata
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v)))
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
#[path = "ingest_tests.rs"]
mod tests;
