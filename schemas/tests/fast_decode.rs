//! The direct `SamplesRecorded` decoder against the generic path it replaces: for every body
//! apache-avro writes with the .avsc it gives the same value, and for corrupt bodies it
//! fails exactly when the generic path fails, never panicking.

use std::collections::HashMap;
use std::sync::LazyLock;

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::Schema;
use healthpipe_schemas::*;
use proptest::prelude::*;
use proptest::sample::Index;

static SCHEMA: LazyLock<Schema> =
    LazyLock::new(|| Schema::parse_str(SamplesRecorded::CONTENT_SCHEMA).expect("schema parses"));

/// The Avro body apache-avro writes for `event` with the schema file.
fn encode(event: &SamplesRecorded) -> Vec<u8> {
    let value = apache_avro::to_value(event).expect("to value");
    let writer = GenericDatumWriter::builder(&SCHEMA).build().unwrap();
    writer.write_value_to_vec(value).expect("fits the schema")
}

/// What the codec's generic path gives for `body`: `Value` tree, then serde.
fn generic(body: &[u8]) -> Result<SamplesRecorded, String> {
    let reader = GenericDatumReader::builder(&SCHEMA).build().unwrap();
    let value = reader
        .read_value(&mut &body[..])
        .map_err(|e| e.to_string())?;
    apache_avro::from_value(&value).map_err(|e| e.to_string())
}

/// `event` with NaN made comparable: corrupt doubles may be NaN, and NaN != NaN.
fn comparable(event: &SamplesRecorded) -> (SamplesRecorded, Vec<u64>) {
    let mut event = event.clone();
    let bits = event.samples.iter().map(|s| s.value.to_bits()).collect();
    event.samples.iter_mut().for_each(|s| s.value = 0.0);
    (event, bits)
}

fn text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::string::string_regex(&format!(".{{0,{max}}}")).unwrap(),
        any::<String>(),
    ]
}

fn sample() -> impl Strategy<Value = Sample> {
    let ids = (text(40), text(16), text(8));
    let times = (any::<i64>(), any::<i64>(), any::<i32>());
    let value = any::<f64>().prop_filter("NaN never equals itself", |v| !v.is_nan());
    let optional = (
        proptest::option::of(text(24)),
        proptest::option::of(text(24)),
        proptest::option::of(any::<i64>()),
    );
    let metadata = proptest::collection::hash_map(text(12), text(24), 0..4);
    (ids, times, value, optional, metadata).prop_map(
        |((sample_id, sample_type, unit), (start, end, offset), value, opt, metadata)| Sample {
            sample_id,
            sample_type,
            value,
            unit,
            start_time: start,
            end_time: end,
            utc_offset_seconds: offset,
            source_app: opt.0,
            sync_identifier: opt.1,
            sync_version: opt.2,
            metadata,
        },
    )
}

fn event(samples: impl Strategy<Value = Vec<Sample>>) -> impl Strategy<Value = SamplesRecorded> {
    (text(40), text(40), text(40), any::<i64>(), samples).prop_map(
        |(event_id, user_id, device_id, recorded_at, samples)| SamplesRecorded {
            event_id,
            user_id,
            device_id,
            recorded_at,
            samples,
        },
    )
}

fn small_event() -> impl Strategy<Value = SamplesRecorded> {
    event(proptest::collection::vec(sample(), 0..5))
}

fn any_event() -> impl Strategy<Value = SamplesRecorded> {
    event(prop_oneof![
        proptest::collection::vec(sample(), 0..8),
        proptest::collection::vec(sample(), 0..600),
    ])
}

/// How a test corrupts a valid body.
#[derive(Debug, Clone)]
enum Mutation {
    Set(Index, u8),
    Insert(Index, u8),
    Remove(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<Index>().prop_map(Mutation::Remove),
    ]
}

fn mutate(body: &mut Vec<u8>, mutation: &Mutation) {
    if body.is_empty() {
        return;
    }
    let len = body.len();
    match mutation {
        Mutation::Set(i, b) => body[i.index(len)] = *b,
        Mutation::Insert(i, b) => body.insert(i.index(len + 1), *b),
        Mutation::Remove(i) => {
            body.remove(i.index(len));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn the_direct_decoder_gives_what_the_generic_path_gives(event in any_event()) {
        let body = encode(&event);
        let direct = decode_samples_recorded(&body).expect("a valid body decodes");
        prop_assert_eq!(&direct, &generic(&body).expect("generic decodes"));
        prop_assert_eq!(direct, event);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_corrupt_body_fails_exactly_when_the_generic_path_fails(
        event in small_event(),
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let mut body = encode(&event);
        mutations.iter().for_each(|m| mutate(&mut body, m));
        let direct = decode_samples_recorded(&body);
        let generic = generic(&body);
        match (&direct, &generic) {
            (Ok(d), Ok(g)) => prop_assert_eq!(comparable(d), comparable(g)),
            (Err(CodecError::Undecodable(_)), Err(_)) => {}
            _ => prop_assert!(false, "direct {direct:?} but generic {generic:?}"),
        }
    }

    #[test]
    fn every_truncated_body_is_undecodable(event in small_event()) {
        let body = encode(&event);
        for cut in 0..body.len() {
            let got = decode_samples_recorded(&body[..cut]);
            prop_assert!(matches!(got, Err(CodecError::Undecodable(_))), "cut {cut}: {got:?}");
        }
    }

    #[test]
    fn random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let direct = decode_samples_recorded(&body);
        prop_assert_eq!(direct.is_ok(), generic(&body).is_ok());
    }
}

/// Writes Avro by hand, for the encodings apache-avro never produces itself.
#[derive(Default)]
struct Body(Vec<u8>);

impl Body {
    fn long(&mut self, v: i64) -> &mut Self {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        while z > 0x7f {
            self.0.push((z as u8 & 0x7f) | 0x80);
            z >>= 7;
        }
        self.0.push(z as u8);
        self
    }

    fn string(&mut self, s: &str) -> &mut Self {
        self.long(s.len() as i64);
        self.0.extend_from_slice(s.as_bytes());
        self
    }

    /// A sample with no optional fields and the given metadata bytes (blocks included).
    fn sample(&mut self, id: &str, metadata: &[u8]) -> &mut Self {
        self.string(id).string("STEPS");
        self.0.extend_from_slice(&1.5f64.to_le_bytes());
        self.string("count").long(10).long(20).long(-3600);
        self.long(0).long(1).string("sync-1").long(1).long(-7);
        self.0.extend_from_slice(metadata);
        self
    }
}

#[test]
fn blocks_with_negative_counts_and_several_blocks_decode_like_the_generic_path() {
    // metadata: a block of -1 entries with its byte size, then a block of 1, then the end
    let mut metadata = Body::default();
    metadata.long(-1).long(4).string("a").string("x");
    metadata.long(1).string("b").string("y").long(0);
    // samples: a block of -2 with a (wrong, ignored) byte size, a block of 1, then the end
    let mut body = Body::default();
    body.string("e").string("u").string("d").long(-5);
    body.long(-2)
        .long(999)
        .sample("s1", &[0])
        .sample("s2", &metadata.0);
    body.long(1).sample("s3", &[0]).long(0);

    let direct = decode_samples_recorded(&body.0).expect("decodes");
    assert_eq!(direct, generic(&body.0).expect("generic decodes"));
    let ids: Vec<&str> = direct
        .samples
        .iter()
        .map(|s| s.sample_id.as_str())
        .collect();
    assert_eq!(ids, ["s1", "s2", "s3"]);
    let expected = HashMap::from([("a".into(), "x".into()), ("b".into(), "y".into())]);
    assert_eq!(direct.samples[1].metadata, expected);
    assert_eq!(direct.samples[0].sync_version, Some(-7));
    assert_eq!(direct.samples[0].source_app, None);
}

#[test]
fn bytes_after_the_record_are_ignored_as_by_the_generic_path() {
    let mut body = Body::default();
    body.string("e").string("u").string("d").long(1).long(0);
    body.0.extend_from_slice(b"trailing");
    let direct = decode_samples_recorded(&body.0).expect("decodes");
    assert_eq!(direct, generic(&body.0).expect("generic decodes"));
}

#[test]
fn a_huge_sample_count_fails_without_reserving_memory() {
    let mut body = Body::default();
    body.string("e")
        .string("u")
        .string("d")
        .long(1)
        .long(i64::MAX);
    assert!(matches!(
        decode_samples_recorded(&body.0),
        Err(CodecError::Undecodable(_))
    ));
    let mut body = Body::default();
    body.string("e")
        .string("u")
        .string("d")
        .long(1)
        .long(i64::MIN);
    assert!(decode_samples_recorded(&body.0).is_err());
}
