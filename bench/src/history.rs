//! Long histories for the query and growth figures. Sending a year of samples through the
//! gateway and the processor would take most of the time budget, so the samples are validated
//! and converted exactly as the gateway does, written straight into `samples` with a binary
//! COPY, and the processor is then asked to recompute every aggregate of those users (a
//! time-zone "change" to the same zone), which runs the real aggregation code over all of it.

use anyhow::Result;
use chrono::Utc;
use healthpipe_domain::{validate, RawSample};
use healthpipe_storage::projections::samples::SAMPLE_COLUMN_TYPES;
use healthpipe_storage::sql::{copy_in, execute};
use uuid::Uuid;

use super::env::connect;
use super::population::Member;
use crate::realistic::RealisticDevice;

healthpipe_storage::statement!(COPY_HISTORY, "samples_copy_history");
healthpipe_storage::statement!(ANALYZE_SAMPLES, "samples_analyze");

/// Copies days `days` (indexes into each device's days) of `devices[i]` for `members[i]`
/// into `samples`; returns the rows written.
pub async fn copy(
    database_url: &str,
    members: &[Member],
    devices: &[Vec<RealisticDevice>],
    days: std::ops::Range<usize>,
) -> Result<u64> {
    let mut db = connect(database_url).await?;
    let tx = db.transaction().await?;
    // The first eight columns: what the gateway validates; the rest stay NULL.
    let mut writer = copy_in(&tx, COPY_HISTORY, &SAMPLE_COLUMN_TYPES[..8]).await?;
    let now = Utc::now();
    let mut rows = 0u64;
    for (member, user_devices) in members.iter().zip(devices) {
        for (device, (_, _, device_id)) in user_devices.iter().zip(&member.devices) {
            for day in &device.days[days.clone()] {
                for s in day {
                    let raw = RawSample {
                        sample_type: s.kind,
                        value: s.value,
                        unit: s.unit,
                        start: s.start.with_timezone(&member.timezone).fixed_offset(),
                        end: s.end.with_timezone(&member.timezone).fixed_offset(),
                    };
                    let valid = validate(&raw, now)?;
                    writer
                        .write(&[
                            &member.id,
                            &Uuid::new_v4(),
                            device_id,
                            &valid.sample_type().as_str(),
                            &valid.value(),
                            &valid.start(),
                            &valid.end(),
                            &valid.start_utc_offset_secs(),
                        ])
                        .await?;
                    rows += 1;
                }
            }
        }
    }
    writer.finish().await?;
    tx.commit().await?;
    execute(&db, ANALYZE_SAMPLES, &[]).await?;
    Ok(rows)
}
