//! Streaming reader of `export.xml`: yields each top-level `<Record>` with its
//! `<MetadataEntry>` children, and only counts everything else.
//!
//! Memory stays flat whatever the file size: one event buffer, reused, and the one record
//! being read. Records nested in a `<Correlation>` are not yielded, because the export repeats
//! each of them at top level (the DTD says so, and the real files do it).

use std::collections::BTreeMap;
use std::io::BufRead;

use quick_xml::events::{BytesStart, Event};

use super::lines::LineCounter;
use crate::error::ImportError;

/// One top-level `<Record>` as written, attribute values unescaped but not interpreted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    /// 1-based position among the file's top-level records.
    pub number: usize,
    /// 1-based line of the `<Record` start tag.
    pub line: usize,
    pub record_type: String,
    pub source_name: Option<String>,
    pub source_version: Option<String>,
    pub device: Option<String>,
    pub unit: Option<String>,
    pub creation_date: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub value: Option<String>,
    /// `<MetadataEntry key=… value=…>` pairs in file order.
    pub metadata: Vec<(String, String)>,
    /// The first attribute that could not be decoded (bad escape, invalid UTF-8), as
    /// (attribute, reason): such a record is reported, not guessed at.
    pub decode_error: Option<(String, String)>,
}

/// What the reader saw besides the records it yielded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReaderStats {
    pub records: usize,
    pub nested_in_correlations: usize,
    /// Top-level elements other than `<Record>`, by name.
    pub other_elements: BTreeMap<String, usize>,
}

/// Iterator over the top-level records of an `export.xml`.
pub struct RecordReader<R: BufRead> {
    xml: quick_xml::Reader<LineCounter<R>>,
    buf: Vec<u8>,
    /// Elements currently open; the root `<HealthData>` makes it 1.
    depth: usize,
    current: Option<Record>,
    stats: ReaderStats,
    seen_root: bool,
    done: bool,
}

enum Step {
    Continue,
    /// Boxed: a record is several times larger than the other variants.
    Yield(Box<Record>),
    Fail(ImportError),
    End,
}

impl<R: BufRead> RecordReader<R> {
    pub fn new(reader: R) -> Self {
        RecordReader {
            xml: quick_xml::Reader::from_reader(LineCounter::new(reader)),
            buf: Vec::with_capacity(4096),
            depth: 0,
            current: None,
            stats: ReaderStats::default(),
            seen_root: false,
            done: false,
        }
    }

    /// Counts so far; complete once the iterator has returned `None`.
    pub fn stats(&self) -> &ReaderStats {
        &self.stats
    }

    fn line(&self) -> usize {
        self.xml.get_ref().line()
    }

    fn step(&mut self, buf: &mut Vec<u8>) -> Step {
        let event = match self.xml.read_event_into(buf) {
            Ok(event) => event,
            Err(source) => {
                return Step::Fail(ImportError::Xml {
                    line: self.line(),
                    source,
                })
            }
        };
        match event {
            Event::Start(tag) => {
                let step = self.open(&tag, true);
                self.depth += 1;
                step
            }
            Event::Empty(tag) => self.open(&tag, false),
            Event::End(tag) => {
                self.depth = self.depth.saturating_sub(1);
                if self.depth == 1 && tag.name().as_ref() == b"Record" {
                    if let Some(record) = self.current.take() {
                        return Step::Yield(Box::new(record));
                    }
                }
                Step::Continue
            }
            Event::Eof if !self.seen_root => Step::Fail(ImportError::NotAnExport {
                reason: "no root element: the file is empty or not XML".into(),
            }),
            Event::Eof if self.depth > 0 => {
                Step::Fail(ImportError::Truncated { line: self.line() })
            }
            Event::Eof => Step::End,
            _ => Step::Continue,
        }
    }

    /// Handles an opening (or self-closing) tag at the current depth.
    fn open(&mut self, tag: &BytesStart<'_>, has_children: bool) -> Step {
        let name = tag.name();
        let name = name.as_ref();
        match self.depth {
            0 => {
                self.seen_root = true;
                if name != b"HealthData" {
                    let found = String::from_utf8_lossy(name).into_owned();
                    return Step::Fail(ImportError::NotAnExport {
                        reason: format!("the root element is <{found}>, not <HealthData>"),
                    });
                }
            }
            1 if name == b"Record" => {
                self.stats.records += 1;
                let line = self.line() - newlines(tag);
                let record = self.read_record(tag, line);
                if !has_children {
                    return Step::Yield(Box::new(record));
                }
                self.current = Some(record);
            }
            1 => {
                let key = String::from_utf8_lossy(name).into_owned();
                *self.stats.other_elements.entry(key).or_insert(0) += 1;
            }
            2 if name == b"MetadataEntry" => {
                let decoder = self.xml.decoder();
                if let Some(record) = self.current.as_mut() {
                    let mut key = String::new();
                    let mut value = String::new();
                    for_each_attribute(tag, decoder, &mut record.decode_error, |k, v| match k {
                        "key" => key = v,
                        "value" => value = v,
                        _ => {}
                    });
                    record.metadata.push((key, value));
                }
            }
            _ if name == b"Record" && self.current.is_none() => {
                self.stats.nested_in_correlations += 1
            }
            _ => {}
        }
        Step::Continue
    }

    fn read_record(&self, tag: &BytesStart<'_>, line: usize) -> Record {
        let mut r = Record {
            number: self.stats.records,
            line,
            ..Record::default()
        };
        let mut error = None;
        for_each_attribute(
            tag,
            self.xml.decoder(),
            &mut error,
            |key, value| match key {
                "type" => r.record_type = value,
                "sourceName" => r.source_name = Some(value),
                "sourceVersion" => r.source_version = Some(value),
                "device" => r.device = Some(value),
                "unit" => r.unit = Some(value),
                "creationDate" => r.creation_date = Some(value),
                "startDate" => r.start_date = Some(value),
                "endDate" => r.end_date = Some(value),
                "value" => r.value = Some(value),
                _ => {}
            },
        );
        r.decode_error = error;
        r
    }
}

/// Calls `f(key, unescaped value)` for each decodable attribute; the first failure is kept
/// in `error` (unless one is already there).
fn for_each_attribute(
    tag: &BytesStart<'_>,
    decoder: quick_xml::encoding::Decoder,
    error: &mut Option<(String, String)>,
    mut f: impl FnMut(&str, String),
) {
    for attr in tag.attributes() {
        let attr = match attr {
            Ok(attr) => attr,
            Err(e) => {
                error.get_or_insert_with(|| ("(attribute list)".into(), e.to_string()));
                continue;
            }
        };
        let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
        match attr.decode_and_unescape_value(decoder) {
            Ok(value) => f(&key, value.into_owned()),
            Err(e) => {
                error.get_or_insert_with(|| (key, e.to_string()));
            }
        }
    }
}

fn newlines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

impl<R: BufRead> Iterator for RecordReader<R> {
    type Item = Result<Record, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut buf = std::mem::take(&mut self.buf);
        let result = loop {
            buf.clear();
            match self.step(&mut buf) {
                Step::Continue => continue,
                Step::Yield(record) => break Some(Ok(*record)),
                Step::Fail(error) => {
                    self.done = true;
                    break Some(Err(error));
                }
                Step::End => {
                    self.done = true;
                    break None;
                }
            }
        };
        self.buf = buf;
        result
    }
}

#[cfg(test)]
#[path = "xml_tests.rs"]
mod tests;
