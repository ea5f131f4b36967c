//! Shared helpers of the real-data tests: where the files are, and the domain's verdict on
//! an emitted sample.
//!
//! The files live in the shared `real-data` folder, never copied into the repository. It is
//! `$HEALTHPIPE_REAL_DATA` if set, else `../../shared/real-data` from this crate. A missing
//! folder or file FAILS the test: a silently skipped real-data test is worse than none.

#![allow(dead_code)] // each test binary uses its own part of these helpers

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use healthpipe_domain::{validate, RawSample, ValidationError};
use healthpipe_importer::{import_apple_health, Import, SyncSample};

pub const APPLE_FILES: [&str; 5] = [
    "hkimport_export.xml",
    "tdda_export6s3sample.xml",
    "healthkit-to-sqlite_tests_export.xml",
    "alxdrcirilo_tests_export.xml",
    "opendroid_sampleexport-2.xml",
];

pub fn real_data_dir() -> PathBuf {
    let dir = match std::env::var_os("HEALTHPIPE_REAL_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/real-data"),
    };
    assert!(
        dir.is_dir(),
        "real-data folder {} not found: set HEALTHPIPE_REAL_DATA to the shared real-data folder \
         (these tests must not be skipped)",
        dir.display()
    );
    dir
}

pub fn real_file(relative: &str) -> PathBuf {
    let path = real_data_dir().join(relative);
    assert!(
        path.is_file(),
        "real-data file {} is missing",
        path.display()
    );
    path
}

pub fn open(relative: &str) -> BufReader<File> {
    BufReader::new(File::open(real_file(relative)).expect("readable real-data file"))
}

pub fn import_apple(name: &str) -> Import {
    import_apple_health(open(&format!("apple-health/{name}")))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// When the export was made, as far as its samples tell: the latest end among them. The
/// gateway's checks are run as of then: these files are years old, and a sync today would
/// refuse most of them as older than retention keeps (`beyond_retention`), which says
/// nothing about whether the importer emits well-formed samples.
pub fn exported_at(import: &Import) -> DateTime<Utc> {
    import
        .samples()
        .map(|(_, s)| s.end_date.to_utc())
        .max()
        .unwrap_or_else(Utc::now)
}

/// The gateway's own check of one sample, as it will run on the sync request.
pub fn domain_check(sample: &SyncSample, now: DateTime<Utc>) -> Result<(), ValidationError> {
    let raw = RawSample {
        sample_type: sample.sample_type,
        value: sample.value,
        unit: sample.unit,
        start: sample.start_date,
        end: sample.end_date,
    };
    validate(&raw, now).map(|_| ())
}
