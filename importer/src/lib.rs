//! Parses personal health-data exports into the JSON our gateway's sync API accepts.
//!
//! Pure parsing: no network, no database. The output is a list of devices, each with the
//! body that registers it (`POST /api/v1/devices`) and the samples for
//! `POST /api/v1/devices/{device_id}/sync`, plus an account of every record that was not
//! imported and why.
//!
//! - [`apple_health`]: Apple Health's `export.xml`, streamed.
//! - [`shimmer`]: third-party API responses in the shapes Open mHealth's shimmer reads
//!   (Fitbit, Google Fit, Withings, iHealth).
//! - [`connector`]: all of them behind one trait, streamed record by record.

pub mod apple_health;
pub mod connector;
mod error;
mod import;
mod sample;
pub mod shimmer;

pub use apple_health::{
    convert_record, import_apple_health, AppleHealthSamples, Ignored, Outcome, Record, RecordReader,
};
pub use connector::{connector, connectors, Connector, RecordStream, Totals};
pub use error::ImportError;
pub use import::{Counts, Import, SkipReason, Skipped};
pub use sample::{
    DeviceInfo, DeviceType, ImportedDevice, SyncBody, SyncSample, MAX_DEVICE_FIELD_BYTES,
    MAX_SAMPLES_PER_SYNC, MAX_SYNC_BODY_BYTES,
};
