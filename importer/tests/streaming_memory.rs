//! The streaming reader's memory does not grow with the file: a generated export of about
//! 40 MB is streamed while the process's peak resident memory is watched.
//!
//! One test alone in this binary, so that no other test's allocations blur the peak.

use std::io::{BufReader, Read};

use healthpipe_importer::{AppleHealthSamples, Outcome};

/// An endless-looking export produced on demand, never held in memory.
struct GeneratedExport {
    records: usize,
    next: usize,
    pending: Vec<u8>,
    done: bool,
}

const HEADER: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<HealthData locale=\"en_US\">\n";

impl GeneratedExport {
    fn new(records: usize) -> Self {
        GeneratedExport {
            records,
            next: 0,
            pending: HEADER.as_bytes().to_vec(),
            done: false,
        }
    }

    fn refill(&mut self) {
        if self.next == self.records {
            if !self.done {
                self.pending.extend_from_slice(b"</HealthData>\n");
                self.done = true;
            }
            return;
        }
        let i = self.next;
        self.next += 1;
        let (minute, hour, day) = (i % 60, i / 60 % 24, 1 + i / 1440 % 28);
        let record = format!(
            " <Record type=\"HKQuantityTypeIdentifierStepCount\" sourceName=\"Jonathan’s iPhone\" sourceVersion=\"10.0\" \
             device=\"&lt;&lt;HKDevice: 0x{i:x}&gt;, name:iPhone, manufacturer:Apple, model:iPhone, hardware:iPhone8,1, software:10.0&gt;\" \
             unit=\"count\" creationDate=\"2017-10-{day:02} {hour:02}:{minute:02}:30 +0200\" \
             startDate=\"2017-10-{day:02} {hour:02}:{minute:02}:00 +0200\" endDate=\"2017-10-{day:02} {hour:02}:{minute:02}:59 +0200\" value=\"{}\">\n  \
             <MetadataEntry key=\"HKMetadataKeySyncIdentifier\" value=\"{i}\"/>\n </Record>\n",
            i % 100
        );
        self.pending.extend_from_slice(record.as_bytes());
    }
}

impl Read for GeneratedExport {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pending.is_empty() {
            self.refill();
        }
        let n = out.len().min(self.pending.len());
        out[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

/// Peak resident set size of this process so far, in KiB (Linux).
fn peak_rss_kib() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status (Linux)");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM line");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn memory_stays_flat_while_streaming_a_large_export() {
    const RECORDS: usize = 100_000;
    let before = peak_rss_kib();
    let mut bytes = 0usize;
    let mut samples = 0usize;
    let mut stream = AppleHealthSamples::new(BufReader::new(CountingReader {
        inner: GeneratedExport::new(RECORDS),
        bytes: &mut bytes,
    }));
    for outcome in stream.by_ref() {
        if let Outcome::Sample { sample, .. } = outcome.unwrap() {
            assert_eq!(sample.sample_type, "STEPS");
            samples += 1;
        }
    }
    assert_eq!(samples, RECORDS);
    assert_eq!(stream.stats().records, RECORDS);
    drop(stream);
    let grown_kib = peak_rss_kib().saturating_sub(before);
    eprintln!("streamed {bytes} bytes, {samples} samples; peak RSS grew {grown_kib} KiB");
    assert!(
        bytes > 40_000_000,
        "the generated file should be large: {bytes} bytes"
    );
    assert!(
        grown_kib < 8 * 1024,
        "peak memory grew by {grown_kib} KiB while streaming {bytes} bytes: the reader is holding data"
    );
}

struct CountingReader<'a, R> {
    inner: R,
    bytes: &'a mut usize,
}

impl<R: Read> Read for CountingReader<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(out)?;
        *self.bytes += n;
        Ok(n)
    }
}
