//! A `BufRead` wrapper that counts the newlines its consumer has consumed, so a bad record
//! can be reported by line without keeping the file or re-reading it.

use std::io::{self, BufRead, Read};

pub(crate) struct LineCounter<R> {
    inner: R,
    newlines: usize,
}

impl<R: BufRead> LineCounter<R> {
    pub(crate) fn new(inner: R) -> Self {
        LineCounter { inner, newlines: 0 }
    }

    /// 1-based line of the next unconsumed byte.
    pub(crate) fn line(&self) -> usize {
        self.newlines + 1
    }
}

fn count_newlines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

impl<R: BufRead> Read for LineCounter<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.newlines += count_newlines(&out[..n]);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for LineCounter<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        // The bytes being consumed are still in the inner buffer: `fill_buf` on a non-empty
        // buffer returns it without reading.
        if amt > 0 {
            if let Ok(buf) = self.inner.fill_buf() {
                self.newlines += count_newlines(&buf[..amt.min(buf.len())]);
            }
        }
        self.inner.consume(amt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    #[test]
    fn counts_consumed_newlines_across_small_buffers() {
        let text = "a\nbb\n\nccc\nd";
        let mut r = LineCounter::new(BufReader::with_capacity(3, text.as_bytes()));
        assert_eq!(r.line(), 1);
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert_eq!((line.as_str(), r.line()), ("a\n", 2));
        let mut rest = String::new();
        r.read_to_string(&mut rest).unwrap();
        assert_eq!(r.line(), 5);
    }
}
