//! A direct decoder for `SamplesRecorded`, the event that makes up nine messages in ten.
//!
//! The generic path (Avro body → `apache_avro::types::Value` tree → serde) allocates a
//! node, a field-name copy and a boxed union per field of every sample; for a 500-sample
//! event that dominates the consumer's time. This module reads the Avro binary body straight
//! into [`SamplesRecorded`] instead.
//!
//! It is only correct for a body written with exactly the current schema
//! (`content/healthpipe.content.SamplesRecorded.avsc`): the codec checks the writer schema before
//! calling it and sends everything else through the generic, schema-resolving path.
//!
//! It accepts and rejects the same bodies as the generic path, so choosing it never changes
//! which messages reach the dead-letter topic; a test checks that on corrupted bodies. It
//! only fails sooner: a length or count prefix is checked against the bytes that are left
//! before anything is allocated, where the generic reader trusts it up to 512 MB. Like the
//! generic path (and Confluent's own deserializers), bytes after the record are ignored.

use std::collections::HashMap;

use crate::codec::CodecError;
use crate::events::{Event, Sample, SamplesRecorded};

/// The fewest bytes one `Sample` can take: four empty strings (1 byte each), the double (8),
/// three longs/ints (1 each), three null union branches (1 each) and the empty map's end (1).
/// Bounds how much an array block count may reserve.
const MIN_SAMPLE_BYTES: usize = 19;
/// The fewest bytes one metadata entry can take: an empty key and an empty value.
const MIN_ENTRY_BYTES: usize = 2;

/// Why a body is not a valid `SamplesRecorded`: each names what it was reading.
#[derive(Debug, PartialEq, thiserror::Error)]
pub(crate) enum Malformed {
    #[error("the body ends inside {0}")]
    Truncated(&'static str),
    #[error("a varint is longer than 10 bytes")]
    VarintOverflow,
    #[error("{0} is out of range")]
    OutOfRange(&'static str),
    #[error("{0} is not valid UTF-8")]
    NotUtf8(&'static str),
    #[error("union branch {0} of {1} is neither 0 (null) nor 1")]
    UnionBranch(i64, &'static str),
}

impl From<Malformed> for CodecError {
    fn from(e: Malformed) -> Self {
        CodecError::Undecodable(format!("{}: {e}", SamplesRecorded::FULL_NAME))
    }
}

/// Decodes the Avro binary body (the bytes after the 5-byte Confluent header) of a
/// `SamplesRecorded` content written with exactly `SamplesRecorded::CONTENT_SCHEMA`.
///
/// Gives the same value as the generic decode for every body the generic decode accepts;
/// any malformed body is `CodecError::Undecodable`, never a panic.
pub fn decode_samples_recorded(body: &[u8]) -> Result<SamplesRecorded, CodecError> {
    let mut r = Reader { rest: body };
    Ok(samples_recorded(&mut r)?)
}

fn samples_recorded(r: &mut Reader<'_>) -> Result<SamplesRecorded, Malformed> {
    Ok(SamplesRecorded {
        event_id: r.string("event_id")?,
        user_id: r.string("user_id")?,
        device_id: r.string("device_id")?,
        recorded_at: r.long("recorded_at")?,
        samples: samples(r)?,
    })
}

fn samples(r: &mut Reader<'_>) -> Result<Vec<Sample>, Malformed> {
    let mut samples = Vec::new();
    loop {
        let count = r.block_count("samples", MIN_SAMPLE_BYTES)?;
        if count == 0 {
            return Ok(samples);
        }
        samples.reserve(count);
        for _ in 0..count {
            samples.push(sample(r)?);
        }
    }
}

fn sample(r: &mut Reader<'_>) -> Result<Sample, Malformed> {
    Ok(Sample {
        sample_id: r.string("sample_id")?,
        sample_type: r.string("sample_type")?,
        value: r.double("value")?,
        unit: r.string("unit")?,
        start_time: r.long("start_time")?,
        end_time: r.long("end_time")?,
        utc_offset_seconds: r.int("utc_offset_seconds")?,
        source_app: r.nullable("source_app", |r| r.string("source_app"))?,
        sync_identifier: r.nullable("sync_identifier", |r| r.string("sync_identifier"))?,
        sync_version: r.nullable("sync_version", |r| r.long("sync_version"))?,
        metadata: metadata(r)?,
    })
}

fn metadata(r: &mut Reader<'_>) -> Result<HashMap<String, String>, Malformed> {
    let mut map = HashMap::new();
    loop {
        let count = r.block_count("metadata", MIN_ENTRY_BYTES)?;
        if count == 0 {
            return Ok(map);
        }
        map.reserve(count);
        for _ in 0..count {
            let key = r.string("metadata key")?;
            let value = r.string("metadata value")?;
            map.insert(key, value);
        }
    }
}

/// The Avro binary primitives over the bytes not read yet. `what` names the field for the
/// error message.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Malformed> {
        if n > self.rest.len() {
            return Err(Malformed::Truncated(what));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    /// An unsigned varint of at most 10 bytes. Like the generic reader, bits beyond the 64th
    /// in the tenth byte are dropped rather than rejected, so both accept the same input.
    fn varint(&mut self, what: &'static str) -> Result<u64, Malformed> {
        let mut value = 0u64;
        for i in 0..10 {
            let [byte, tail @ ..] = self.rest else {
                return Err(Malformed::Truncated(what));
            };
            self.rest = tail;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Malformed::VarintOverflow)
    }

    fn long(&mut self, what: &'static str) -> Result<i64, Malformed> {
        let z = self.varint(what)?;
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    fn int(&mut self, what: &'static str) -> Result<i32, Malformed> {
        i32::try_from(self.long(what)?).map_err(|_| Malformed::OutOfRange(what))
    }

    fn double(&mut self, what: &'static str) -> Result<f64, Malformed> {
        let bytes = self.take(8, what)?;
        let mut le = [0u8; 8];
        le.copy_from_slice(bytes);
        Ok(f64::from_le_bytes(le))
    }

    /// A length-prefixed UTF-8 string; the length is checked against the remaining bytes
    /// before anything is copied.
    fn string(&mut self, what: &'static str) -> Result<String, Malformed> {
        let len = usize::try_from(self.long(what)?).map_err(|_| Malformed::OutOfRange(what))?;
        let bytes = self.take(len, what)?;
        let text = std::str::from_utf8(bytes).map_err(|_| Malformed::NotUtf8(what))?;
        Ok(text.to_owned())
    }

    /// A `["null", X]` union: branch 0 is `None`, branch 1 is `read`.
    fn nullable<T>(
        &mut self,
        what: &'static str,
        read: impl FnOnce(&mut Self) -> Result<T, Malformed>,
    ) -> Result<Option<T>, Malformed> {
        match self.long(what)? {
            0 => Ok(None),
            1 => read(self).map(Some),
            other => Err(Malformed::UnionBranch(other, what)),
        }
    }

    /// The item count of the next array or map block, 0 at the end. A negative count is
    /// followed by the block's byte size, which is skipped as the generic reader does. A
    /// count that cannot fit in the remaining bytes (at `min_item_bytes` each) is rejected
    /// here, so it never reserves memory the body could not fill.
    fn block_count(
        &mut self,
        what: &'static str,
        min_item_bytes: usize,
    ) -> Result<usize, Malformed> {
        let raw = self.long(what)?;
        if raw < 0 {
            self.long(what)?;
        }
        let count = usize::try_from(raw.unsigned_abs()).map_err(|_| Malformed::OutOfRange(what))?;
        if count > self.rest.len() / min_item_bytes {
            return Err(Malformed::Truncated(what));
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(bytes: &[u8]) -> Reader<'_> {
        Reader { rest: bytes }
    }

    #[test]
    fn longs_are_zigzag_varints() {
        assert_eq!(reader(&[0x00]).long("x"), Ok(0));
        assert_eq!(reader(&[0x01]).long("x"), Ok(-1));
        assert_eq!(reader(&[0x02]).long("x"), Ok(1));
        assert_eq!(reader(&[0x80, 0x01]).long("x"), Ok(64));
        let max = [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(reader(&max).long("x"), Ok(i64::MAX));
        let min = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(reader(&min).long("x"), Ok(i64::MIN));
    }

    #[test]
    fn an_eleven_byte_varint_overflows() {
        let bytes = [0x80; 11];
        assert_eq!(reader(&bytes).long("x"), Err(Malformed::VarintOverflow));
    }

    #[test]
    fn an_unfinished_varint_is_truncated() {
        assert_eq!(reader(&[0x80]).long("x"), Err(Malformed::Truncated("x")));
        assert_eq!(reader(&[]).long("x"), Err(Malformed::Truncated("x")));
    }

    #[test]
    fn an_int_outside_i32_is_rejected() {
        // zig-zag of 2^31 is 2^32: 0x80 0x80 0x80 0x80 0x10
        let bytes = [0x80, 0x80, 0x80, 0x80, 0x10];
        assert_eq!(reader(&bytes).int("x"), Err(Malformed::OutOfRange("x")));
    }

    #[test]
    fn a_string_longer_than_the_body_is_rejected_without_allocating() {
        // length 2^62 would be an allocation failure, not an error, if it were trusted
        let mut bytes = vec![0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01];
        bytes.extend_from_slice(b"abc");
        assert!(reader(&bytes).string("s").is_err());
        assert_eq!(
            reader(&[0x08, b'a']).string("s"),
            Err(Malformed::Truncated("s"))
        );
        assert_eq!(reader(&[0x03]).string("s"), Err(Malformed::OutOfRange("s")));
    }

    #[test]
    fn a_block_count_the_body_cannot_fill_is_rejected() {
        // 3 samples announced, 20 bytes left: at most one sample fits
        let mut bytes = vec![0x06];
        bytes.extend_from_slice(&[0; 20]);
        let got = reader(&bytes).block_count("samples", MIN_SAMPLE_BYTES);
        assert_eq!(got, Err(Malformed::Truncated("samples")));
    }

    #[test]
    fn a_negative_block_count_skips_the_byte_size() {
        // count -2, size 4, then two 2-byte items
        let bytes = [0x03, 0x08, 0, 0, 0, 0];
        let mut r = reader(&bytes);
        assert_eq!(r.block_count("m", MIN_ENTRY_BYTES), Ok(2));
        assert_eq!(r.rest.len(), 4);
    }

    #[test]
    fn a_union_branch_other_than_0_or_1_is_rejected() {
        let got = reader(&[0x04]).nullable("u", |r| r.long("u"));
        assert_eq!(got, Err(Malformed::UnionBranch(2, "u")));
        assert_eq!(reader(&[0x00]).nullable("u", |r| r.long("u")), Ok(None));
        assert_eq!(
            reader(&[0x02, 0x06]).nullable("u", |r| r.long("u")),
            Ok(Some(3))
        );
    }
}
