//! FHIR Bundles: written entry by entry to any `std::io::Write`, or built whole as a JSON value.
//!
//! A user's export can hold millions of Observations. [`BundleWriter`] writes the Bundle's
//! opening, then each entry as it is handed over, then the closing, so memory stays at one
//! resource whatever the history's length. The writer does no I/O of its own choosing: it
//! writes to the sink it is given (a `Vec<u8>` the caller drains between entries with
//! [`BundleWriter::get_mut`] to feed an async body, or a `BufWriter`), and it never flushes.
//!
//! [`bundle`] builds the same document as a `serde_json::Value` for a small slice (a shared
//! view); a test checks both give equal JSON for the same input.

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::model::{instant_text, Resource};

/// The Bundle's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BundleType {
    /// A set of resources with no request behind it: the export.
    Collection,
    /// The answer to a query: a clinician's view of shared data.
    Searchset,
}

impl BundleType {
    pub fn as_str(self) -> &'static str {
        match self {
            BundleType::Collection => "collection",
            BundleType::Searchset => "searchset",
        }
    }
}

/// One `entry`: the resource and its `urn:uuid:` full URL.
#[derive(Serialize)]
struct Entry<'a> {
    #[serde(rename = "fullUrl")]
    full_url: String,
    resource: &'a Resource,
}

impl<'a> Entry<'a> {
    fn of(resource: &'a Resource) -> Self {
        Entry {
            full_url: format!("urn:uuid:{}", resource.id()),
            resource,
        }
    }
}

/// The whole Bundle, for [`bundle`].
#[derive(Serialize)]
struct Document<'a> {
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
    #[serde(rename = "type")]
    bundle_type: BundleType,
    timestamp: String,
    // FHIR JSON has no empty arrays: a Bundle without entries has no `entry`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    entry: Vec<Entry<'a>>,
}

/// Writes one Bundle to `W` an entry at a time.
#[derive(Debug)]
pub struct BundleWriter<W: Write> {
    out: W,
    entries: u64,
}

impl<W: Write> BundleWriter<W> {
    /// Writes the Bundle's opening. `timestamp` is when the Bundle was assembled (the caller's
    /// clock: this module has none).
    pub fn start(
        mut out: W,
        bundle_type: BundleType,
        timestamp: DateTime<Utc>,
    ) -> io::Result<Self> {
        // Neither string can need escaping: a fixed word and an RFC 3339 instant.
        write!(
            out,
            r#"{{"resourceType":"Bundle","type":"{}","timestamp":"{}""#,
            bundle_type.as_str(),
            instant_text(timestamp)
        )?;
        Ok(BundleWriter { out, entries: 0 })
    }

    /// Writes one entry.
    pub fn write(&mut self, resource: &Resource) -> io::Result<()> {
        let separator: &[u8] = if self.entries == 0 {
            br#","entry":["#
        } else {
            b","
        };
        self.out.write_all(separator)?;
        serde_json::to_writer(&mut self.out, &Entry::of(resource))?;
        self.entries += 1;
        Ok(())
    }

    /// The entries written so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// The sink, to take out what has been written so far (e.g. `std::mem::take` of a `Vec`).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Closes the Bundle and hands back the sink, unflushed.
    pub fn finish(mut self) -> io::Result<W> {
        let closing: &[u8] = if self.entries == 0 { b"}" } else { b"]}" };
        self.out.write_all(closing)?;
        Ok(self.out)
    }
}

/// The whole Bundle of `resources` as one JSON value: for slices small enough to hold.
pub fn bundle(bundle_type: BundleType, timestamp: DateTime<Utc>, resources: &[Resource]) -> Value {
    let document = Document {
        resource_type: "Bundle",
        bundle_type,
        timestamp: instant_text(timestamp),
        entry: resources.iter().map(Entry::of).collect(),
    };
    serde_json::to_value(document).expect("a Bundle has only string keys and finite numbers")
}

#[cfg(test)]
#[path = "bundle_tests.rs"]
mod tests;
